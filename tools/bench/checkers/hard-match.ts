/**
 * Is hard with the neural tie-break at least as strong as hard without it? A match through the
 * engine's own worker_threads pool (PoolEngine, the bundled engine thread, the network loaded
 * once per thread): "new" is DIFFICULTIES.hard (piece-count alpha-beta on 85% of the budget,
 * then the network chooses among the root moves tied for the best); "old" is the previous hard —
 * piece-count alpha-beta on the whole budget, ties broken at random (randomMargin 1e-9: scores are
 * integers, so only exact ties are candidates). Both sides get the same per-move time budget,
 * reduced from 800 ms so the match fits (say so when quoting it); colours alternate. At 100 ms
 * the network's 15% share is too short on a loaded machine for it to run often: 200 ms is the
 * smallest budget at which it usually does. Run it under `nice -n 10` on a shared machine.
 *
 *   npx nx run checkers:match-hard                      # 200 games, 200 ms a move, 2 threads
 *   npx tsx --tsconfig apps/checkers/tsconfig.json tools/bench/checkers/hard-match.ts --help
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadavg } from 'node:os';
import { Command } from 'commander';
import type { EngineSearch } from '@conveyor/contracts';
import { currentPosition, newGame, playMove, toFen, type Game } from '@conveyor/draughts';
import { engineThreadFile, ensureBundles } from '../../../apps/checkers/src/bundles';
import { APP_ROOT } from '../../../apps/checkers/src/config';
import { DIFFICULTIES } from '../../../apps/checkers/src/difficulty';
import { EngineTimeoutError } from '../../../apps/checkers/src/engine/engine';
import { PoolEngine } from '../../../apps/checkers/src/engine/pool-engine';

export type Side = 'new' | 'old';
export type GameResult = 'new' | 'old' | 'draw';

export interface MatchGame {
  readonly index: number;
  readonly white: Side;
  readonly result: GameResult;
  readonly plies: number;
  readonly reason: string;
  /** How the new side's tie-breaks ended, counted by `by`. */
  readonly tieBreaks: Record<string, number>;
}

/** Wilson score interval (95%) for k successes out of n. */
export function wilson(k: number, n: number, z = 1.959964): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z / d) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

export function searches(timeMs: number): Record<Side, EngineSearch> {
  return {
    new: { ...DIFFICULTIES.hard, timeMs },
    old: {
      maxDepth: DIFFICULTIES.hard.maxDepth,
      timeMs,
      maxNodes: DIFFICULTIES.hard.maxNodes,
      scorer: 'piece-count',
      randomMargin: 1e-9,
    },
  };
}

/**
 * A search killed for overrunning is retried (10 times at most): on this shared machine the match
 * runs under `nice` and is stopped (SIGSTOP) during others' benchmark windows, after which the
 * pool's wall-clock limit has passed. The pool replaces the killed thread, which loads the
 * network again: the retry waits a few seconds for that, then the move is searched again.
 */
async function withRetry<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof EngineTimeoutError) || attempt >= 9) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5_000));
    }
  }
}

/** Plays one game; the side to move asks the pool with its own search configuration. */
export async function playGame(
  engine: PoolEngine,
  index: number,
  timeMs: number,
  maxPlies: number,
): Promise<MatchGame> {
  const white: Side = index % 2 === 0 ? 'new' : 'old';
  const config = searches(timeMs);
  const tieBreaks: Record<string, number> = {};
  let game: Game = newGame();
  let plies = 0;
  while (game.status.kind === 'ongoing' && plies < maxPlies) {
    const side: Side =
      (currentPosition(game).turn === 'white') === (white === 'new') ? 'new' : 'old';
    const outcome = await withRetry(() =>
      engine.chooseMove({
        fen: toFen(currentPosition(game)),
        history: game.positions.slice(0, -1).map(toFen),
        difficulty: 'hard',
        search: config[side],
        seed: (index * 1009 + plies * 7 + 1) >>> 0,
      }),
    );
    if (outcome.kind !== 'move') throw new Error(`game ${index}: engine answered ${outcome.kind}`);
    if (side === 'new' && outcome.tieBreak)
      tieBreaks[outcome.tieBreak.by] = (tieBreaks[outcome.tieBreak.by] ?? 0) + 1;
    const next = playMove(game, outcome.move);
    if (!next.ok) throw new Error(`game ${index}: illegal engine move ${outcome.move}`);
    game = next.value;
    plies++;
  }
  const s = game.status;
  if (s.kind === 'win') {
    const winnerSide: Side = s.winner === 'white' ? white : white === 'new' ? 'old' : 'new';
    return { index, white, result: winnerSide, plies, reason: s.reason, tieBreaks };
  }
  return {
    index,
    white,
    result: 'draw',
    plies,
    reason: s.kind === 'draw' ? s.reason : 'ply-cap',
    tieBreaks,
  };
}

export function summarize(games: readonly MatchGame[]) {
  const n = games.length;
  const wins = games.filter((g) => g.result === 'new').length;
  const draws = games.filter((g) => g.result === 'draw').length;
  const losses = games.filter((g) => g.result === 'old').length;
  const tieBreaks: Record<string, number> = {};
  for (const g of games)
    for (const [by, c] of Object.entries(g.tieBreaks)) tieBreaks[by] = (tieBreaks[by] ?? 0) + c;
  // Score = (wins + draws/2) / n; its interval by Wilson on the 2n half-points.
  return {
    games: n,
    wins,
    draws,
    losses,
    winCi: wilson(wins, n),
    drawCi: wilson(draws, n),
    lossCi: wilson(losses, n),
    score: n === 0 ? 0 : (wins + draws / 2) / n,
    scoreCi: wilson(2 * wins + draws, 2 * n),
    tieBreaks,
  };
}

/** Rewritten after every game, so an interrupted match still leaves its games. */
function writeReport(
  out: string,
  started: Date,
  settings: { timeMs: number; threads: number; maxPlies: number },
  results: readonly MatchGame[],
): void {
  const report = {
    started: started.toISOString(),
    written: new Date().toISOString(),
    loadavg: loadavg(),
    ...settings,
    searches: searches(settings.timeMs),
    summary: summarize(results),
    games: [...results].sort((a, b) => a.index - b.index),
  };
  mkdirSync(dirname(resolve(out)), { recursive: true });
  writeFileSync(resolve(out), JSON.stringify(report, null, 1) + '\n');
}

async function main(): Promise<void> {
  const opts = new Command()
    .option('--games <n>', 'play games --first … n-1', '200')
    .option('--first <n>', 'index of the first game (continues an interrupted match)', '0')
    .option('--time-ms <ms>', 'time budget per move, both sides', '100')
    .option('--threads <n>', 'engine threads (= games played at once)', '2')
    .option('--max-plies <n>', 'adjudicate a draw after this many plies', '300')
    .option('--out <file>', 'JSON results', 'var/bench/checkers-hard-match.json')
    .parse()
    .opts<{
      games: string;
      first: string;
      timeMs: string;
      threads: string;
      maxPlies: string;
      out: string;
    }>();
  const games = Number(opts.games);
  const timeMs = Number(opts.timeMs);
  const threads = Number(opts.threads);
  const maxPlies = Number(opts.maxPlies);
  const bundleDir = resolve(APP_ROOT, 'dist');
  await ensureBundles(bundleDir);
  const engine = new PoolEngine({ threadFile: engineThreadFile(bundleDir), threads });
  const started = new Date();
  console.log(`threads' network: ${JSON.stringify(await engine.ready())}`);
  const results: MatchGame[] = [];
  let next = Number(opts.first);
  const runner = async (): Promise<void> => {
    while (next < games) {
      const index = next++;
      const g = await playGame(engine, index, timeMs, maxPlies);
      results.push(g);
      writeReport(opts.out, started, { timeMs, threads, maxPlies }, results);
      const s = summarize(results);
      console.log(
        `game ${index} (new ${g.white === 'new' ? 'white' : 'black'}): ${g.result} in ${g.plies} plies (${g.reason}); ` +
          `total +${s.wins} =${s.draws} -${s.losses} score ${(100 * s.score).toFixed(1)}%`,
      );
    }
  };
  try {
    await Promise.all(Array.from({ length: threads }, runner));
  } finally {
    await engine.close();
  }
  const summary = summarize(results);
  const pct = ([a, b]: [number, number]) => `[${(100 * a).toFixed(1)}, ${(100 * b).toFixed(1)}]%`;
  console.log(
    `new hard vs old hard, ${summary.games} games, ${timeMs} ms a move: ` +
      `wins ${summary.wins} ${pct(summary.winCi)}, draws ${summary.draws} ${pct(summary.drawCi)}, ` +
      `losses ${summary.losses} ${pct(summary.lossCi)}; score ${(100 * summary.score).toFixed(1)}% ` +
      `${pct(summary.scoreCi)}; new side's tie-breaks ${JSON.stringify(summary.tieBreaks)}`,
  );
}

if (require.main === module) {
  void main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
