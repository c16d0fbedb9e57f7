/**
 * Piece-count alpha-beta with a neural tie-break: the checkers app's "hard" level.
 *
 * A pure neural search reaches 3–4 plies in the time piece-count alpha-beta reaches ~13, and
 * loses to it. But piece count is coarse: at the end of a deep search several root moves often
 * share the best value, and the search then takes one of them arbitrarily. This module keeps the
 * deep search's verdict and lets the network choose only among the moves it considers equal:
 *
 *   1. `searchWithTies`: libs/draughts' `search` with `randomize` and margin 0 (so every move
 *      tying the best gets an exact value and counts as a candidate); then the tied moves are
 *      enumerated by re-running the same search to the same depth with other seeds over the
 *      same, now warm, transposition table (each re-run picks one candidate at random and costs
 *      a few table probes per root move). Only a re-run that reproduces the depth, value and
 *      candidate count is believed, so every move returned really tied in that search.
 *   2. `rankTiedMoves`: a batch scorer (material + network, see materialPlusNeural) values each
 *      tied move by the positions after it, or after each reply to it, in one scorer call
 *      (deeper: `batchedMinimax` per move); the move with the best value wins.
 */
import {
  legalMoves,
  makeMove,
  search,
  WIN_SCORE,
  sameMove,
  type BatchScorer,
  type Move,
  type Position,
  type SearchOptions,
  type SearchResult,
} from '@conveyor/draughts';
import { batchedMinimax } from './batched-minimax';

export interface TiedSearchResult {
  /** The alpha-beta search as it would have played (a seeded random pick among the ties). */
  readonly search: SearchResult;
  /** Root moves found to share the best value (includes search.move; empty without a move). */
  readonly tied: readonly Move[];
  /** Root moves the search said tie; `tied.length < expectedTies` when enumeration ran out. */
  readonly expectedTies: number;
  /** Re-runs spent enumerating the ties. */
  readonly reruns: number;
}

export interface TieEnumerationOptions {
  /** Give up enumerating at this Date.now() (the alpha-beta choice stands for moves not found). */
  readonly deadline?: number;
  /** At most this many re-runs (default 4 × the number of ties + 4). */
  readonly maxReruns?: number;
  /** Node cap of each re-run (default 200 000): a re-run that needs more is not a warm re-run. */
  readonly rerunNodes?: number;
}

/**
 * Searches like `search(input, options)` with `randomize: true, randomMargin: 0` and reports
 * which root moves tied for the best value. Pass a `table` in options: the enumeration relies on
 * it being warm (without one every re-run is a full search and the deadline cuts it short).
 */
export function searchWithTies(
  input: Parameters<typeof search>[0],
  options: SearchOptions,
  enumeration: TieEnumerationOptions = {},
): TiedSearchResult {
  const first = search(input, { ...options, randomize: true, randomMargin: 0 });
  if (first.move === null) return { search: first, tied: [], expectedTies: 0, reruns: 0 };
  const tied: Move[] = [first.move];
  const expected = first.candidates;
  const maxReruns = enumeration.maxReruns ?? 4 * expected + 4;
  let reruns = 0;
  const baseSeed = options.seed ?? 1;
  while (tied.length < expected && reruns < maxReruns) {
    if (enumeration.deadline !== undefined && Date.now() >= enumeration.deadline) break;
    reruns++;
    const again = search(input, {
      ...options,
      randomize: true,
      randomMargin: 0,
      depth: first.depth,
      timeMs: undefined,
      nodes: enumeration.rerunNodes ?? 200_000,
      seed: (baseSeed + reruns * 0x9e3779b9) >>> 0,
    });
    // Believed only when it is the same search: same depth, value and number of candidates.
    if (
      again.move === null ||
      again.depth !== first.depth ||
      again.score !== first.score ||
      again.candidates !== expected
    )
      continue;
    const found = again.move;
    if (!tied.some((m) => sameMove(m, found))) tied.push(found);
  }
  return { search: first, tied, expectedTies: expected, reruns };
}

export interface RankedMove {
  readonly move: Move;
  /** Value for the side to move at the root, in the batch scorer's units. */
  readonly value: number;
}

export interface RankOptions {
  /**
   * Plies searched below each tied move: 0 scores the positions after the tied moves, 1 every
   * position after each reply (the move's value is its worst reply's) — both in one scorer
   * call; 2 or more run `batchedMinimax` (captures extended) on each move's position.
   */
  readonly depth: number;
  readonly batchSize?: number;
}

/** Positions a depth-0 or depth-1 ranking sends to the scorer (to plan its time). */
export function rankingPositions(
  position: Position,
  candidates: readonly Move[],
  depth: 0 | 1,
): number {
  if (depth === 0) return candidates.length;
  return candidates.reduce((n, move) => n + legalMoves(makeMove(position, move)).length, 0);
}

/**
 * Values every candidate move for the side to move at `position`, best first; equal values
 * keep the candidates' order. A move after which the opponent has no reply wins outright.
 */
export async function rankTiedMoves(
  position: Position,
  candidates: readonly Move[],
  scorer: BatchScorer,
  options: RankOptions,
): Promise<RankedMove[]> {
  const children = candidates.map((move) => makeMove(position, move));
  let values: number[];
  if (options.depth <= 0) {
    const scores = await scorer.scoreBatch(children);
    values = children.map((_, i) => -(scores[i] as number));
  } else if (options.depth === 1) {
    const replies = children.map((child) => legalMoves(child).map((r) => makeMove(child, r)));
    const scores = await scorer.scoreBatch(replies.flat());
    let at = 0;
    values = replies.map((after) => {
      if (after.length === 0) return WIN_SCORE;
      let worst = Number.POSITIVE_INFINITY;
      for (let j = 0; j < after.length; j++) worst = Math.min(worst, scores[at + j] as number);
      at += after.length;
      return worst;
    });
  } else {
    values = [];
    for (const child of children) {
      const r = await batchedMinimax(child, scorer, {
        depth: options.depth,
        batchSize: options.batchSize ?? 256,
      });
      values.push(-r.score);
    }
  }
  return candidates
    .map((move, i) => ({ move, value: (values[i] as number) + 0, i }))
    .sort((a, b) => b.value - a.value || a.i - b.i)
    .map(({ move, value }) => ({ move, value }));
}
