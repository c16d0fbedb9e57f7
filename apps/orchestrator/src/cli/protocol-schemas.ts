import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { workflowContracts } from '@conveyor/contracts';
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

export function renderDoc(doc: string): string {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`docs/worker-protocol.md lacks the ${BEGIN} … ${END} markers`);
  return doc.slice(0, start) + schemasSection() + doc.slice(end + END.length);
}

if (require.main === module) {
  const file = resolve(process.argv.find((a) => a.endsWith('.md')) ?? 'docs/worker-protocol.md');
  const doc = readFileSync(file, 'utf8');
  const next = renderDoc(doc);
  if (process.argv.includes('--write')) {
    writeFileSync(file, next);
    console.log(`updated ${file}`);
  } else if (next !== doc) {
    console.error(`${file} is out of date: run npx nx run orchestrator:protocol-doc`);
    process.exit(1);
  }
}
