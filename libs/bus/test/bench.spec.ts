import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

jest.setTimeout(120_000);

const root = resolve(__dirname, '../../..');

// The benchmark (nx run bus:bench) in a tiny configuration, so it cannot rot unnoticed.
it('runs the bus benchmark on both transports (quorum and classic queues) and prints the comparison table', async () => {
  const { stdout } = await promisify(execFile)(
    'npx',
    [
      'tsx',
      '--tsconfig',
      'tools/bench/bus/tsconfig.json',
      'tools/bench/bus/bench.ts',
      '--rounds',
      '1',
      '--round-trips',
      '5',
      '--messages',
      '50',
      '--window',
      '8',
      '--prefetch',
      '4',
    ],
    { cwd: root, timeout: 110_000 },
  );
  const row = (metric: string) => {
    const line = stdout.split('\n').find((l) => l.startsWith(`| ${metric} |`));
    if (!line) throw new Error(`no "${metric}" row in:\n${stdout}`);
    return line
      .split('|')
      .slice(2, 6)
      .map((cell) => Number(cell.trim().replace(/×$/, '')));
  };
  for (const metric of ['round trip p50 (ms)', 'end-to-end throughput (msg/s)']) {
    const [embedded, quorum, , classic] = row(metric);
    expect(embedded).toBeGreaterThan(0);
    expect(quorum).toBeGreaterThan(0);
    expect(classic).toBeGreaterThan(0);
  }
});
