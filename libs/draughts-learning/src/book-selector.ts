/**
 * The opening-statistics move selector: among the moves minimax scores equal, prefer the one
 * whose logged results are significantly better than the position's; moves without significant
 * evidence count as the position's average (the null), and significantly worse moves fall below
 * it. Outside the book, or among moves the book cannot separate, the choice is uniformly random.
 */
import { formatMoveLong, toFen, type Game, type Position } from '@conveyor/draughts';
import { points, type OpeningBook } from './opening-stats';
import type { ScoredMove } from './root-scores';

export function bookValue(book: OpeningBook, pos: Position, moveName: string): number | undefined {
  const entry = book.positions[toFen(pos)];
  if (!entry) return undefined;
  const m = entry.moves[moveName];
  return m?.significant ? m.score : points(entry.counts);
}

/** Picks among `tied` (equal minimax scores) using the book; `random()` in [0, 1) breaks remaining ties. */
export function selectWithBook(
  book: OpeningBook,
  game: Game,
  tied: readonly ScoredMove[],
  random: () => number,
): ScoredMove {
  const pos = game.positions[game.positions.length - 1] as Position;
  let bestValue = -Infinity;
  let best: ScoredMove[] = [];
  for (const s of tied) {
    const v = bookValue(book, pos, formatMoveLong(s.move)) ?? 0.5;
    if (v > bestValue + 1e-12) {
      bestValue = v;
      best = [s];
    } else if (Math.abs(v - bestValue) <= 1e-12) best.push(s);
  }
  const pick = best[Math.floor(random() * best.length)];
  if (pick === undefined) throw new Error('selectWithBook needs at least one move');
  return pick;
}
