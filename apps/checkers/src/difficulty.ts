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
 * - hard: piece-count iterative deepening (up to 20 plies) on 85% of 0.8 s (ALPHA_BETA_SHARE in
 *   engine/search-task.ts), keeping every root move that ties the best value exact; then the
 *   neural scorer of @conveyor/draughts-learning (material + network, loaded once per engine
 *   thread) chooses among the tied moves — piece count is coarse, so several moves often tie
 *   (about 4 positions in 10 in measured games). The network searches one ply below each tied
 *   move when the rest of the budget allows, else scores the positions after them; without a
 *   network, or out of time, the search's own (seeded random) choice stands, and the answer's
 *   `tieBreak.by` says which happened. A pure neural search would reach only 3–4 plies here.
 */
export const DIFFICULTIES: Readonly<Record<CheckersDifficulty, EngineSearch>> = {
  easy: { maxDepth: 2, timeMs: 100, maxNodes: 5_000, scorer: 'piece-count', randomMargin: 1 },
  medium: { maxDepth: 8, timeMs: 300, maxNodes: 300_000, scorer: 'piece-count', randomMargin: 0 },
  hard: {
    maxDepth: 20,
    timeMs: 800,
    maxNodes: 3_000_000,
    scorer: 'piece-count+neural-tiebreak',
    randomMargin: 0,
  },
};

/** Extra time past the search budget before a search is considered stuck and its thread killed. */
export const ENGINE_GRACE_MS = 2_000;
