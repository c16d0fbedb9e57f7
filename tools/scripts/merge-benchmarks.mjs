#!/usr/bin/env node
// Builds docs/benchmarks.md from the per-area reports in docs/benchmarks/*.md, which each area's
// `nx run <project>:bench` target (re)writes with the command that produced its numbers. One file
// keeps every figure and its command in one place; the per-area files stay the source of truth.
// With --check it writes nothing and fails when docs/benchmarks.md is not what it would write
// (the workspace tests run that, so a report edited without regenerating the merge is caught).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = 'docs/benchmarks';
const order = [
  'orchestrator',
  'bus',
  'draughts',
  'checkers',
  'checkers-learning',
  'classifier',
  't5',
  'svc-proxy',
];
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.md'))
  .map((f) => f.slice(0, -3))
  .sort(
    (a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b),
  );

const sections = files.map((name) => {
  const body = readFileSync(join(dir, `${name}.md`), 'utf8').trim();
  // Demote headings one level so each report nests under its own section.
  const demoted = body.replace(/^(#{1,5}) /gm, '#$1 ');
  return {
    name,
    body: demoted.replace(/\]\((?!https?:|#)(\.\.\/)?/g, (_m, up) => (up ? '](' : `](benchmarks/`)),
  };
});

const out = [
  '# Benchmarks',
  '',
  "Every figure below was measured on this project's 2-core development machine (shared and often",
  'loaded by other work: each report states the load and reports medians, percentiles and ratios',
  'measured side by side in one run). Each section names the exact command that reproduces it;',
  'the sections are generated from `docs/benchmarks/<area>.md` by',
  '`node tools/scripts/merge-benchmarks.mjs`.',
  '',
  ...files.map((f) => `- [${f}](#${f})`),
  '',
  ...sections.flatMap((s) => [`<a id="${s.name}"></a>`, '', s.body, '']),
].join('\n');
if (process.argv.includes('--check')) {
  const current = existsSync('docs/benchmarks.md')
    ? readFileSync('docs/benchmarks.md', 'utf8')
    : '';
  if (current !== out) {
    console.error(
      'docs/benchmarks.md is not the merge of docs/benchmarks/*.md: run `node tools/scripts/merge-benchmarks.mjs` and commit it',
    );
    process.exit(1);
  }
  console.log(`docs/benchmarks.md is the merge of its ${files.length} reports`);
} else {
  writeFileSync('docs/benchmarks.md', out);
  console.log(`wrote docs/benchmarks.md from ${files.length} reports`);
}
