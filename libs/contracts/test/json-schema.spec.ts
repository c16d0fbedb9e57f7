import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { allContracts, renderJsonSchemaFiles, schemaFileName } from '../src';

const schemaDir = resolve(__dirname, '../json-schema');
const FIX = 'run `npx nx run contracts:generate-schemas` and commit libs/contracts/json-schema';

describe('committed JSON Schema files', () => {
  const expected = renderJsonSchemaFiles(allContracts);

  it('exist for every contract and match what the zod schemas generate', () => {
    const problems: string[] = [];
    for (const [name, content] of expected) {
      let committed: string;
      try {
        committed = readFileSync(join(schemaDir, name), 'utf8');
      } catch {
        problems.push(`missing ${name}`);
        continue;
      }
      // Compared as data, not bytes: a formatter may re-wrap the committed JSON.
      try {
        expect(JSON.parse(committed)).toEqual(JSON.parse(content));
      } catch {
        problems.push(`outdated ${name}`);
      }
    }
    if (problems.length > 0) throw new Error(`${problems.join(', ')}: ${FIX}`);
  });

  it('include no file of a contract that no longer exists', () => {
    const stale = readdirSync(schemaDir).filter((f) => f.endsWith('.json') && !expected.has(f));
    if (stale.length > 0) throw new Error(`stale schema files ${stale.join(', ')}: ${FIX}`);
  });

  it('validate the same examples in Python (jsonschema) as zod does in TypeScript', () => {
    const cases = allContracts.flatMap((c) => [
      ...c.examples.map((value, i) => ({
        file: schemaFileName(c),
        value,
        label: `${c.type} example ${i}`,
        valid: true,
      })),
      ...c.invalidExamples.map((e, i) => ({
        file: schemaFileName(c),
        value: e.value,
        label: `${c.type} invalid example ${i} (${e.field})`,
        valid: false,
      })),
    ]);
    const stdout = execFileSync('python3', [join(__dirname, 'validate_with_jsonschema.py')], {
      input: JSON.stringify({ schemaDir, cases }),
      encoding: 'utf8',
    });
    const results = JSON.parse(stdout) as { label: string; valid: boolean; errors: string[] }[];
    const disagreements = results
      .map((r, i) => ({ ...r, expected: cases[i]?.valid }))
      .filter((r) => r.valid !== r.expected)
      .map(
        (r) =>
          `${r.label}: JSON Schema says ${r.valid ? 'valid' : `invalid (${r.errors.join('; ')})`}`,
      );
    if (disagreements.length > 0) {
      throw new Error(
        `JSON Schema and zod disagree (a zod refinement JSON Schema cannot express?); make the rule ` +
          `representable, e.g. a regex instead of .refine():\n  ${disagreements.join('\n  ')}`,
      );
    }
  });
});
