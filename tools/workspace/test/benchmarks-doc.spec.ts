import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// docs/benchmarks.md is generated from docs/benchmarks/<area>.md: a report edited without
// regenerating it would leave the merged page (the one the README links) telling older figures.
const workspaceRoot = path.resolve(__dirname, '../../..');
const script = path.join(workspaceRoot, 'tools/scripts/merge-benchmarks.mjs');

const merge = (cwd: string, ...args: string[]) =>
  spawnSync(process.execPath, [script, ...args], { cwd, encoding: 'utf8' });

describe('docs/benchmarks.md', () => {
  it('is the merge of docs/benchmarks/*.md as committed', () => {
    const check = merge(workspaceRoot, '--check');
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('the check fails on a stale merge and passes once it is regenerated', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-doc-'));
    try {
      mkdirSync(path.join(dir, 'docs/benchmarks'), { recursive: true });
      writeFileSync(path.join(dir, 'docs/benchmarks/bus.md'), '# Bus\n\n1,000 messages/s\n');
      expect(merge(dir).status).toBe(0);
      expect(merge(dir, '--check').status).toBe(0);
      writeFileSync(path.join(dir, 'docs/benchmarks/bus.md'), '# Bus\n\n2,000 messages/s\n');
      const stale = merge(dir, '--check');
      expect(stale.status).toBe(1);
      expect(stale.stderr).toMatch(/run `node tools\/scripts\/merge-benchmarks\.mjs`/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
