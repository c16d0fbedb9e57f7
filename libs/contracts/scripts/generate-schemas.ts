/**
 * Writes libs/contracts/json-schema/<type>.v<version>.json for every registered contract and
 * deletes files of contracts that no longer exist. `--check` only compares (exit 1 on drift).
 * Usage: npx nx run contracts:generate-schemas  |  npx nx run contracts:check-schemas
 */
import { readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { allContracts, renderJsonSchemaFiles } from '../src';

import { isDeepStrictEqual } from 'node:util';

function sameJson(a: string, b: string): boolean {
  try {
    return isDeepStrictEqual(JSON.parse(a), JSON.parse(b));
  } catch {
    return false;
  }
}

const outDir = resolve(__dirname, '../json-schema');
const check = process.argv.includes('--check');

const expected = renderJsonSchemaFiles(allContracts);
mkdirSync(outDir, { recursive: true });
const existing = readdirSync(outDir).filter((f) => f.endsWith('.json'));

const drift: string[] = [];
for (const [name, content] of expected) {
  const path = join(outDir, name);
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  // Compared as data, not bytes: a formatter may re-wrap the committed JSON.
  if (current !== undefined && sameJson(current, content)) continue;
  drift.push(`${current === undefined ? 'missing' : 'outdated'}: ${name}`);
  if (!check) writeFileSync(path, content);
}
for (const name of existing) {
  if (expected.has(name)) continue;
  drift.push(`stale (no such contract): ${name}`);
  if (!check) rmSync(join(outDir, name));
}

if (check) {
  if (drift.length > 0) {
    console.error(
      `JSON Schemas are out of date:\n  ${drift.join('\n  ')}\nRun: npx nx run contracts:generate-schemas`,
    );
    process.exit(1);
  }
  console.log(`${expected.size} JSON Schemas up to date in ${outDir}`);
} else {
  console.log(
    `${expected.size} contracts → ${outDir}${drift.length ? `\n  ${drift.join('\n  ')}` : ' (no changes)'}`,
  );
}
