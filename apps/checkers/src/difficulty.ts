import type { CheckersDifficulty, EngineSearch } from '@conveyor/contracts';

/**
 * What each difficulty means, as a search configuration. The search stops at whichever limit
 * comes first, so on a slow or busy machine the node budget keeps the strength stable-ish and the
 * time budget keeps the latency bounded. Kept small for a CPU-only instance: see
 * docs/benchmarks/checkers.md for measured latencies.
 *
 * - easy: two plies of piece counting, choosing at random among moves within one man of the
 *   best — grabs material in front of it, walks into simple shots, varies from game to game.
 * - medium: eight plies — sees most two-for-one shots and simple endgame races.
 * - hard: iterative deepening as far as 0.8 s allows (up to 20 plies). It should use the neural
 *   scorer; that scorer doesn't exist yet, so it runs the piece-count scorer.
 */
export const DIFFICULTIES: Readonly<Record<CheckersDifficulty, EngineSearch>> = {
  easy: { maxDepth: 2, timeMs: 100, maxNodes: 5_000, scorer: 'piece-count', randomMargin: 1 },
  medium: { maxDepth: 8, timeMs: 300, maxNodes: 300_000, scorer: 'piece-count', randomMargin: 0 },
  hard: { maxDepth: 20, timeMs: 800, maxNodes: 3_000_000, scorer: 'piece-count', randomMargin: 0 },
};

/** Extra time past the search budget before a search is considered stuck and its thread killed. */
export const ENGINE_GRACE_MS = 2_000;
