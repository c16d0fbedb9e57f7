import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { workflowContracts } from '@conveyor/contracts';
import { format, resolveConfig } from 'prettier';
import { z } from 'zod';

/**
 * Keeps the JSON Schemas in docs/worker-protocol.md identical to the zod contracts: the block
 * between the markers is generated. `--write` rewrites it; without, exits 1 if it is stale.
 */
export const BEGIN = '<!-- BEGIN GENERATED SCHEMAS (npx nx run orchestrator:protocol-doc) -->';
export const END = '<!-- END GENERATED SCHEMAS -->';

export function schemasSection(): string {
  const parts = workflowContracts.map((c) => {
    const schema = z.toJSONSchema(c.schema, { io: 'input', unrepresentable: 'any' });
    return [
      `### \`${c.type}\` (version ${c.version})`,
      '',
      c.description,
      '',
      'Example:',
      '',
      '```json',
      JSON.stringify(c.examples[0], null, 2),
      '```',
      '',
      '<details><summary>JSON Schema</summary>',
      '',
      '```json',
      JSON.stringify(schema, null, 2),
      '```',
      '',
      '</details>',
    ].join('\n');
  });
  return `${BEGIN}\n\n${parts.join('\n\n')}\n\n${END}`;
}

/**
 * The document with a regenerated schema section, formatted like `prettier --write` formats it
 * (each JSON block with the json parser, then the page), so formatting the repo keeps it fresh.
 */
export async function renderDoc(doc: string, file: string): Promise<string> {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start)
    throw new Error(`docs/worker-protocol.md lacks the ${BEGIN} … ${END} markers`);
  const options = (await resolveConfig(file)) ?? {};
  let section = schemasSection();
  for (const block of [...section.matchAll(/```json\n([\s\S]*?)\n```/g)]) {
    const formatted = (await format(block[1] ?? '', { ...options, parser: 'json' })).trimEnd();
    section = section.split(block[0]).join('```json\n' + formatted + '\n```');
  }
  const text = doc.slice(0, start) + section + doc.slice(end + END.length);
  return format(text, { ...options, filepath: file });
}

async function main(): Promise<void> {
  const file = resolve(process.argv.find((a) => a.endsWith('.md')) ?? 'docs/worker-protocol.md');
  const doc = readFileSync(file, 'utf8');
  const next = await renderDoc(doc, file);
  if (process.argv.includes('--write')) {
    writeFileSync(file, next);
    console.log(`updated ${file}`);
  } else if (next !== doc) {
    console.error(`${file} is out of date: run npx nx run orchestrator:protocol-doc`);
    process.exit(1);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
