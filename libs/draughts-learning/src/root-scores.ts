/**
 * Minimax scores of every root move, so a player can see which moves the search considers equal
 * (libs/draughts' search reports how many tied, not which). Each child is searched to depth - 1
 * with the game's history, so repetition and move-limit draws count as in a whole-tree search.
 */
import {
  legalMoves,
  playMove,
  search,
  WIN_SCORE,
  type Game,
  type Move,
  type TranspositionTable,
} from '@conveyor/draughts';

export interface ScoredMove {
  readonly move: Move;
  /** From the mover's point of view. */
  readonly score: number;
}

export function rootMoveScores(
  game: Game,
  depth: number,
  table?: TranspositionTable,
): ScoredMove[] {
  const pos = game.positions[game.positions.length - 1];
  if (pos === undefined) throw new Error('game without positions');
  return legalMoves(pos).map((move) => {
    const next = playMove(game, move);
    if (!next.ok) throw new Error(next.error.message);
    const child = next.value;
    const s = child.status;
    if (s.kind === 'win') return { move, score: WIN_SCORE - 1 };
    if (s.kind === 'draw') return { move, score: 0 };
    return { move, score: -search(child, { depth: Math.max(1, depth - 1), table }).score + 0 };
  });
}

/** The moves sharing the best score. */
export function bestMoves(scored: readonly ScoredMove[]): ScoredMove[] {
  const best = Math.max(...scored.map((s) => s.score));
  return scored.filter((s) => s.score === best);
}
