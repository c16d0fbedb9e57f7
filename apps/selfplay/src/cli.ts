/**
 * Self-play generator: `npx tsx apps/selfplay/src/cli.ts generate --games 1000 --out var/selfplay/games.jsonl`.
 * Resumable (rerun the same command), parallel across cores with worker_threads.
 */
import { Command, InvalidArgumentError } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { availableParallelism } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { engineLabel, parseRecord, recordToPdn, runSelfPlay } from '@conveyor/draughts-learning';

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer, got "${v}"`);
    return n;
  };
}

const program = new Command('selfplay').description('Self-play game generation for Spanish draughts');

program
  .command('generate')
  .description('play games between two engine settings and append them to a JSONL log (resumable)')
  .requiredOption('--out <file>', 'JSONL game log to append to')
  .option('--games <n>', 'number of game ids to cover', positiveInt('--games'), 1000)
  .option('--first-id <n>', 'first game id (shards use disjoint ranges)', positiveInt('--first-id'), 0)
  .option('--depth <n>', 'search depth of both sides', positiveInt('--depth'), 4)
  .option('--white-depth <n>', 'search depth of white (default --depth)', positiveInt('--white-depth'))
  .option('--black-depth <n>', 'search depth of black (default --depth)', positiveInt('--black-depth'))
  .option('--seed <n>', 'run seed; game seeds derive from it and the game id', positiveInt('--seed'), 1)
  .option('--threads <n>', 'worker threads (default: available cores)', positiveInt('--threads'), availableParallelism())
  .option('--no-progress', 'print one summary line instead of a progress bar')
  .action(async (o: { out: string; games: number; firstId: number; depth: number; whiteDepth?: number; blackDepth?: number; seed: number; threads: number; progress: boolean }) => {
    mkdirSync(dirname(o.out), { recursive: true });
    const wd = o.whiteDepth ?? o.depth;
    const bd = o.blackDepth ?? o.depth;
    const bar = o.progress ? new SingleBar({ format: 'self-play |{bar}| {value}/{total} games | {rate} games/s | eta {eta_formatted}', hideCursor: true }, Presets.shades_classic) : null;
    const t0 = Date.now();
    let startDone = -1;
    const summary = await runSelfPlay({
      out: o.out,
      games: o.games,
      firstId: o.firstId,
      white: { label: engineLabel(wd), depth: wd },
      black: { label: engineLabel(bd), depth: bd },
      runSeed: o.seed,
      threads: o.threads,
      onProgress: (done, total) => {
        if (startDone < 0) {
          startDone = done;
          bar?.start(total, done, { rate: '0' });
        }
        const rate = (done - startDone) / Math.max(1e-3, (Date.now() - t0) / 1000);
        bar?.update(done, { rate: rate.toFixed(1) });
      },
    });
    bar?.stop();
    const s = summary.wallMs / 1000;
    console.log(
      `played ${summary.played} games (${summary.resumed} already in ${o.out}) in ${s.toFixed(1)} s wall, ${(summary.cpuMs / 1000).toFixed(1)} s CPU, ` +
        `${(summary.played / Math.max(s, 1e-3)).toFixed(1)} games/s on ${o.threads} threads`,
    );
  });

program
  .command('pdn')
  .description('export games of a JSONL log as PDN')
  .requiredOption('--in <file>', 'JSONL game log')
  .requiredOption('--out <file>', 'PDN file to write')
  .option('--limit <n>', 'at most this many games', positiveInt('--limit'))
  .action((o: { in: string; out: string; limit?: number }) => {
    const parts: string[] = [];
    for (const line of readFileSync(o.in, 'utf8').split('\n')) {
      if (!line) continue;
      if (o.limit !== undefined && parts.length >= o.limit) break;
      const parsed = parseRecord(line);
      if (!parsed.ok) throw new Error(`${o.in}: ${parsed.error}`);
      parts.push(recordToPdn(parsed.record));
    }
    writeFileSync(o.out, parts.join('\n\n') + '\n');
    console.log(`wrote ${parts.length} games to ${o.out}`);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
