/**
 * Engine latency per difficulty, measured the way the game server sees it: each search goes
 * through the worker_threads pool (PoolEngine) with the difficulty's production budget, one at
 * a time, from request to answer. Positions come from seeded self-play so every run measures the
 * same positions: openings, middlegames and endgames.
 *
 *   npx nx run checkers:bench                       # writes docs/benchmarks/checkers.md
 *   npx tsx --tsconfig apps/checkers/tsconfig.json tools/bench/checkers/engine-latency.ts --help
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import type { CheckersDifficulty } from '@conveyor/contracts';
import { currentPosition, newGame, playMove, search, toFen, type Game } from '@conveyor/draughts';
import { engineThreadFile, ensureBundles } from '../../../apps/checkers/src/bundles';
import { APP_ROOT } from '../../../apps/checkers/src/config';
import { DIFFICULTIES } from '../../../apps/checkers/src/difficulty';
import { PoolEngine } from '../../../apps/checkers/src/engine/pool-engine';
import { measureHttpLatency, type HttpRow } from './http-latency';

interface Sample {
  readonly fen: string;
  readonly history: readonly string[];
  readonly ply: number;
}

/** Positions every `every` plies of seeded, slightly random shallow self-play games. */
function samplePositions(games: number, every: number): Sample[] {
  const samples: Sample[] = [];
  for (let g = 0; g < games; g++) {
    let game: Game = newGame();
    for (let ply = 0; ply < 120 && game.status.kind === 'ongoing'; ply++) {
      const position = currentPosition(game);
      if (ply > 0 && ply % every === 0) {
        samples.push({
          fen: toFen(position),
          history: game.positions.slice(0, -1).map(toFen),
          ply,
        });
      }
      const { move } = search(game, {
        depth: 3,
        randomize: true,
        randomMargin: 1,
        seed: g * 1000 + ply + 1,
      });
      if (!move) break;
      const next = playMove(game, move);
      if (!next.ok) throw new Error(next.error.message);
      game = next.value;
    }
  }
  return samples;
}

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;

interface Row {
  difficulty: CheckersDifficulty;
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  meanDepth: number;
  meanNodes: number;
  /** Moves per tie-break outcome (hard's `tieBreak.by`); empty for levels without one. */
  tieBreaks: Record<string, number>;
}

async function main(): Promise<void> {
  const program = new Command()
    .name('engine-latency')
    .option('--games <n>', 'self-play games to sample positions from', '6')
    .option('--every <plies>', 'sample a position every this many plies', '6')
    .option('--difficulties <list>', 'comma-separated difficulties', 'easy,medium,hard')
    .option(
      '--http-moves <n>',
      'engine moves to time through the HTTP API per difficulty (0: skip)',
      '25',
    )
    .option('--out <file>', 'write the Markdown report here (default: print only)')
    .parse();
  const opts = program.opts<{
    games: string;
    every: string;
    difficulties: string;
    httpMoves: string;
    out?: string;
  }>();
  const difficulties = opts.difficulties.split(',') as CheckersDifficulty[];
  for (const d of difficulties)
    if (!(d in DIFFICULTIES)) throw new Error(`unknown difficulty ${d}`);

  const bundleDir = resolve(APP_ROOT, 'dist');
  await ensureBundles(bundleDir);
  const samples = samplePositions(Number(opts.games), Number(opts.every));
  console.error(`${samples.length} positions from ${opts.games} self-play games`);
  const engine = new PoolEngine({ threadFile: engineThreadFile(bundleDir), threads: 1 });
  const rows: Row[] = [];
  try {
    // Warm-up: thread start and JIT are a one-off per thread, not per request.
    const first = samples[0];
    if (!first) throw new Error('self-play produced no positions: raise --games or lower --every');
    await engine.chooseMove({
      ...first,
      difficulty: 'easy',
      search: DIFFICULTIES.easy,
      seed: 1,
    });
    for (const difficulty of difficulties) {
      const latencies: number[] = [];
      let depth = 0;
      let nodes = 0;
      const tieBreaks: Record<string, number> = {};
      for (const [i, sample] of samples.entries()) {
        const t0 = performance.now();
        const outcome = await engine.chooseMove({
          fen: sample.fen,
          history: sample.history,
          difficulty,
          search: DIFFICULTIES[difficulty],
          seed: i + 1,
        });
        latencies.push(performance.now() - t0);
        if (outcome.kind !== 'move')
          throw new Error(`no move for ${sample.fen}: ${JSON.stringify(outcome)}`);
        depth += outcome.depth;
        nodes += outcome.nodes;
        if (outcome.tieBreak)
          tieBreaks[outcome.tieBreak.by] = (tieBreaks[outcome.tieBreak.by] ?? 0) + 1;
      }
      latencies.sort((a, b) => a - b);
      const row: Row = {
        difficulty,
        n: latencies.length,
        p50: quantile(latencies, 0.5),
        p95: quantile(latencies, 0.95),
        p99: quantile(latencies, 0.99),
        max: latencies[latencies.length - 1] ?? NaN,
        meanDepth: depth / latencies.length,
        meanNodes: nodes / latencies.length,
        tieBreaks,
      };
      rows.push(row);
      console.error(`${difficulty}: p50 ${row.p50.toFixed(1)} ms, p95 ${row.p95.toFixed(1)} ms`);
    }
  } finally {
    await engine.close();
  }
  const httpMoves = Number(opts.httpMoves);
  const http = httpMoves > 0 ? await measureHttpLatency(difficulties, httpMoves) : [];
  for (const row of http) {
    const sorted = [...row.samples].sort((a, b) => a - b);
    console.error(
      `HTTP ${row.difficulty}: p50 ${quantile(sorted, 0.5).toFixed(1)} ms, p95 ${quantile(sorted, 0.95).toFixed(1)} ms`,
    );
  }
  const report = renderReport(rows, samples.length, http, process.argv.slice(2));
  console.log(report);
  if (opts.out) writeFileSync(opts.out, report + keptSection(opts.out));
}

/** Hand-written results below this line of the output file (the strength match) survive reruns. */
export const KEPT_MARKER = '<!-- kept across bench runs: measurements recorded by hand below -->';

function keptSection(file: string): string {
  try {
    const text = readFileSync(file, 'utf8');
    const at = text.indexOf(KEPT_MARKER);
    return at < 0 ? '' : `\n${text.slice(at)}`;
  } catch {
    return '';
  }
}

function renderHttp(http: readonly HttpRow[]): string {
  if (http.length === 0) return '';
  const lines = http.map((row) => {
    const sorted = [...row.samples].sort((a, b) => a - b);
    const q = (p: number) => quantile(sorted, p).toFixed(1);
    return `| ${row.difficulty} | ${sorted.length} | ${q(0.5)} | ${q(0.95)} | ${q(0.99)} | ${(sorted[sorted.length - 1] ?? NaN).toFixed(1)} |`;
  });
  return `
## Through the HTTP API

\`POST /api/games/:id/engine-move\` timed by a client on the same machine: database read,
replay of the game, the search in the thread pool (${availableParallelism()} threads), validation
of the engine's move and the write, with SQLite. Positions are those of real games against a
human side that always plays its first legal move, so they differ from the table above. The
server is fresh (it listens once its threads have started and loaded the network).

| difficulty | requests | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) |
| --- | ---: | ---: | ---: | ---: | ---: |
${lines.join('\n')}
`;
}

function renderReport(
  rows: readonly Row[],
  positions: number,
  http: readonly HttpRow[],
  argv: readonly string[],
): string {
  const ms = (x: number) => x.toFixed(1);
  const budget = (d: CheckersDifficulty) => {
    const s = DIFFICULTIES[d];
    return `depth ≤ ${s.maxDepth}, ${s.timeMs} ms, ${s.maxNodes.toLocaleString('en')} nodes, ${s.scorer}`;
  };
  const ties = (r: Row) =>
    Object.entries(r.tieBreaks)
      .sort((a, b) => b[1] - a[1])
      .map(([by, n]) => `${by} ${n}`)
      .join(', ') || '—';
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `# Checkers engine latency

Engine move latency per difficulty, as the game server sees it: each search runs in the
worker_threads pool (\`PoolEngine\`, 1 thread) with the difficulty's production budget from
\`apps/checkers/src/difficulty.ts\`, one request at a time, timed from request to answer
(message passing to and from the thread included). ${positions} positions sampled every few plies
from seeded self-play games (openings to endgames), the same positions on every run.

Command:

\`\`\`sh
npx tsx --tsconfig apps/checkers/tsconfig.json tools/bench/checkers/engine-latency.ts ${argv.join(' ')}
\`\`\`

(\`npx nx run checkers:bench\` runs the same with \`--out docs/benchmarks/checkers.md\`.)

Run ended ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} on ${availableParallelism()} cores (${cpu}), Node ${process.version}, load average
${loadavg()
  .map((l) => l.toFixed(1))
  .join(' / ')} (1/5/15 min) when the run ended — the machine is shared and noisy: compare runs on
the same machine only.

| difficulty | budget | positions | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | mean depth | mean nodes | tie-break |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |
${rows
  .map(
    (r) =>
      `| ${r.difficulty} | ${budget(r.difficulty)} | ${r.n} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${ms(r.max)} | ${r.meanDepth.toFixed(1)} | ${Math.round(r.meanNodes).toLocaleString('en')} | ${ties(r)} |`,
  )
  .join('\n')}

Target: p95 ≤ 1 s for hard. Hard's piece-count alpha-beta stops at 85% of its 800 ms (the
search checks the clock as it goes); enumerating the root moves tied for the best and the
network's choice among them must fit in the rest, or the alpha-beta choice is kept (the
tie-break column: \`network\` chose, \`single\` best move, \`timeout\` no time left,
\`unavailable\` no model). Positions it solves to depth 20 or where the move is forced return
sooner. Outliers well above a budget are the search thread waiting for a CPU: with the load
average above on 2 cores, that is expected.
${renderHttp(http)}`;
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
