import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PG_URL } from './harness';

// Both queue types and Celery: minutes when the shared 2-core machine is busy.
jest.setTimeout(420_000);

const ROOT = join(__dirname, '..', '..', '..');

describe('benchmark (tiny configuration)', () => {
  it('runs every shape on both queue types (classic also without chains), Celery included, and writes a report with numbers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orch-bench-test-'));
    const out = join(dir, 'report.md');
    try {
      await promisify(execFile)(
        process.execPath,
        [
          '--import',
          'tsx',
          join(ROOT, 'tools/bench/orchestrator/bench.ts'),
          '--quick',
          '--out',
          out,
        ],
        {
          cwd: ROOT,
          env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'apps/orchestrator/tsconfig.json') },
          timeout: 410_000,
        },
      );
      const report = readFileSync(out, 'utf8');
      // Both queue types with chains, and classic without, side by side, each with numbers.
      for (const variant of [
        'quorum queues, chains',
        'classic queues, chains',
        'classic queues, no chains',
      ]) {
        expect(report).toMatch(
          new RegExp(
            `\\| ${variant} \\| one chain at a time \\| 90 \\| \\d+\\.\\d+ \\| \\d+\\.\\d+ \\|`,
          ),
        );
        expect(report).toMatch(
          new RegExp(`\\| ${variant} \\| 1000 \\| \\d+\\.\\d+ \\| \\d+ \\| \\d+ \\| \\d+ \\|`),
        );
      }
      // (d) and (f): every variant against Celery chains measured in the blocks between its own.
      const pair = String.raw`\d+\.\d+ / \d+\.\d+ \| \d+\.\d+`;
      for (const variant of [
        'quorum queues, chains',
        'classic queues, chains',
        'classic queues, no chains',
      ])
        expect(
          report.match(new RegExp(String.raw`\| ${variant}( \| ${pair}){3} \|`, 'g')),
        ).toHaveLength(2);
      expect(report).toMatch(
        /\| fan-out\/chord of 100 no-ops \+ join \(ms\) \| \d+( \| \d+ \| \d+\.\d+){3} \|/,
      );
      expect(report).toMatch(
        /\| Conveyor link \(classic queues, chains\) beyond its 1 hop, p50 \| \d+\.\d+ \|/,
      );
      expect(report).toMatch(
        /\| Celery link beyond its 1 hop, p50 \(every block of \(d\)\) \| -?\d+\.\d+ \|/,
      );
      // The targets table opens the results, with a verdict on every row measured.
      expect(report).toMatch(
        /### Targets \(issue 20\), classic queues, chains, SQLite[\s\S]*\| orchestrator CPU per step \(one chain at a time\) \| ≤ 0\.5 ms \| \d+\.\d+ ms \| (met|\*\*not met\*\*) \|/,
      );
      expect(report).toMatch(
        /\| per-step p99 vs Celery \| ≥ 1\.0× \| \d+\.\d+× \| (met|\*\*not met\*\*) \|/,
      );
      expect(report).toMatch(/\| two replicas vs one \(PostgreSQL\) \| ≥ 1\.0× \| PostgreSQL only/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on PostgreSQL, measures one orchestrator replica against two sharing the database and the queues', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orch-bench-test-'));
    const out = join(dir, 'report.md');
    try {
      await promisify(execFile)(
        process.execPath,
        [
          '--import',
          'tsx',
          join(ROOT, 'tools/bench/orchestrator/bench.ts'),
          '--quick',
          '--database-url',
          PG_URL,
          '--no-celery',
          '--queue-types',
          'classic',
          '--no-dispatch-baseline',
          '--out',
          out,
        ],
        {
          cwd: ROOT,
          env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'apps/orchestrator/tsconfig.json') },
          timeout: 300_000,
        },
      );
      const report = readFileSync(out, 'utf8');
      expect(report).toMatch(
        /\| sustained 3-step workflow \(PostgreSQL\) \| ≥ 1,000 steps\/s \| \d+ steps\/s \|/,
      );
      expect(report).toMatch(
        /\| two replicas vs one, sustained steps\/s \(two \/ one, section \(g\)\) \| ≥ 1\.0× \| \d+\.\d+× \| (met|\*\*not met\*\*) \|/,
      );
      // Both groups measured, each replica's CPU per step apart, PostgreSQL and RabbitMQ beside them.
      expect(report).toMatch(
        /\| sustained 3-step workflow, steps\/s \| \d+ \(\d+\) \| \d+ \(\d+\) \| \d+\.\d+ \|/,
      );
      expect(report).toMatch(
        /\| fan-out of 1000, items\/s \| \d+ \(\d+\) \| \d+ \(\d+\) \| \d+\.\d+ \|/,
      );
      const cpu = String.raw`\d+\.\d{3}`;
      expect(report).toMatch(
        new RegExp(
          String.raw`\| sustained 3-step \| 2 \| \d+ \| ${cpu} \+ ${cpu} \| ${cpu} \| ${cpu} \| ${cpu} \| ${cpu} \|`,
        ),
      );
      expect(report).toMatch(
        new RegExp(
          String.raw`\| fan-out of 1000 \| 1 \| \d+ \| ${cpu} \| ${cpu} \| ${cpu} \| ${cpu} \| ${cpu} \|`,
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
