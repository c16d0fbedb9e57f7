/**
 * Opening statistics: for each (position, side to move) reached in the first plies of logged
 * games, the win/draw/loss counts of every move played there, from the mover's point of view.
 *
 * Significance (see multinomial-test.ts): a move is informative when its outcome counts are
 * improbable under the position's overall outcome distribution (exact multinomial test), after
 * a Benjamini–Hochberg correction at false-discovery rate `fdr` over every move tested in the
 * table. Why BH rather than Bonferroni: thousands of moves are tested and most have few games;
 * Bonferroni would keep almost nothing, while BH bounds the expected share of false "better"
 * moves among those kept, which is the error that matters to a move selector.
 */
import { formatMoveLong, toFen } from '@conveyor/draughts';
import { replayRecord, whiteOutcome, type GameRecord } from './game-log';
import { benjaminiHochberg, multinomialPValue, type Counts3 } from './multinomial-test';

export interface MoveStats {
  /** [wins, draws, losses] for the side that played the move. */
  readonly counts: Counts3;
  readonly pValue: number;
  readonly significant: boolean;
  /** Expected points for the mover: (wins + draws / 2) / games. */
  readonly score: number;
}

export interface PositionStats {
  readonly counts: Counts3;
  readonly moves: Readonly<Record<string, MoveStats>>;
}

export interface OpeningBook {
  readonly v: 1;
  readonly games: number;
  readonly maxPly: number;
  readonly minGames: number;
  readonly fdr: number;
  /** Keyed by FEN, which carries the side to move. */
  readonly positions: Readonly<Record<string, PositionStats>>;
  /**
   * Set when only significant moves were kept (`significantOnly`): what the full table held.
   * The selector treats a missing move as the position's average, exactly as it treats a
   * non-significant one, so the pruned book selects the same moves.
   */
  readonly pruned?: BookSummary;
}

export interface BookSummary {
  /** Positions seen in at least minGames games. */
  readonly positions: number;
  /** Moves played in them. */
  readonly moves: number;
  /** Moves tested: those in positions where more than one move was played. */
  readonly tested: number;
  readonly significant: number;
}

export interface BuildBookOptions {
  /** Only positions before this ply are counted (default 16). */
  readonly maxPly?: number;
  /** Positions seen in fewer games are left out (default 20). */
  readonly minGames?: number;
  /** False-discovery rate of the BH correction (default 0.05). */
  readonly fdr?: number;
}

type Mutable3 = [number, number, number];

export function buildOpeningBook(
  records: Iterable<GameRecord>,
  options: BuildBookOptions = {},
): OpeningBook {
  const maxPly = options.maxPly ?? 16;
  const minGames = options.minGames ?? 20;
  const fdr = options.fdr ?? 0.05;
  const table = new Map<string, { counts: Mutable3; moves: Map<string, Mutable3> }>();
  let games = 0;
  for (const record of records) {
    games++;
    const white = whiteOutcome(record.result);
    const replayed = replayRecord(record);
    const plies = Math.min(maxPly, replayed.moves.length);
    for (let i = 0; i < plies; i++) {
      const pos = replayed.positions[i];
      const move = replayed.moves[i];
      if (pos === undefined || move === undefined) break;
      const mover = pos.turn === 'white' ? white : -white;
      const slot = mover > 0 ? 0 : mover === 0 ? 1 : 2;
      const key = toFen(pos);
      let entry = table.get(key);
      if (!entry) table.set(key, (entry = { counts: [0, 0, 0], moves: new Map() }));
      entry.counts[slot]++;
      const name = formatMoveLong(move);
      let mc = entry.moves.get(name);
      if (!mc) entry.moves.set(name, (mc = [0, 0, 0]));
      mc[slot]++;
    }
  }
  const kept = [...table].filter(([, e]) => e.counts[0] + e.counts[1] + e.counts[2] >= minGames);
  const tests: { fen: string; move: string; counts: Mutable3; p: number }[] = [];
  for (const [fen, e] of kept) {
    // A position with a single move played has nothing to compare: the move's counts are the null.
    if (e.moves.size < 2) continue;
    for (const [move, counts] of e.moves)
      tests.push({ fen, move, counts, p: multinomialPValue(counts, e.counts) });
  }
  const discoveries = benjaminiHochberg(
    tests.map((t) => t.p),
    fdr,
  );
  const tested = new Map<string, { p: number; significant: boolean }>();
  tests.forEach((t, i) =>
    tested.set(`${t.fen} ${t.move}`, { p: t.p, significant: discoveries[i] ?? false }),
  );
  const positions: Record<string, PositionStats> = {};
  for (const [fen, e] of kept) {
    const moves: Record<string, MoveStats> = {};
    for (const [move, counts] of e.moves) {
      const t = tested.get(`${fen} ${move}`) ?? { p: 1, significant: false };
      moves[move] = { counts, pValue: t.p, significant: t.significant, score: points(counts) };
    }
    positions[fen] = { counts: e.counts, moves };
  }
  return { v: 1, games, maxPly, minGames, fdr, positions };
}

export function summarizeBook(book: OpeningBook): BookSummary {
  if (book.pruned) return book.pruned;
  let moves = 0;
  let tested = 0;
  let significant = 0;
  for (const e of Object.values(book.positions)) {
    const ms = Object.values(e.moves);
    moves += ms.length;
    if (ms.length > 1) tested += ms.length;
    significant += ms.filter((m) => m.significant).length;
  }
  return { positions: Object.keys(book.positions).length, moves, tested, significant };
}

/**
 * The book reduced to what the selector uses: positions with at least one significant move,
 * holding their overall counts and only their significant moves.
 */
export function significantOnly(book: OpeningBook): OpeningBook {
  const positions: Record<string, PositionStats> = {};
  for (const [fen, e] of Object.entries(book.positions)) {
    const moves = Object.entries(e.moves).filter(([, m]) => m.significant);
    if (moves.length > 0) positions[fen] = { counts: e.counts, moves: Object.fromEntries(moves) };
  }
  return { ...book, positions, pruned: summarizeBook(book) };
}

/** The smallest p-values of the table with the Benjamini–Hochberg bound each had to meet. */
export function smallestPValues(
  book: OpeningBook,
  count: number,
): {
  fen: string;
  move: string;
  position: Counts3;
  counts: Counts3;
  pValue: number;
  bound: number;
}[] {
  const all: { fen: string; move: string; position: Counts3; counts: Counts3; pValue: number }[] =
    [];
  for (const [fen, e] of Object.entries(book.positions)) {
    if (Object.keys(e.moves).length < 2) continue;
    for (const [move, m] of Object.entries(e.moves))
      all.push({ fen, move, position: e.counts, counts: m.counts, pValue: m.pValue });
  }
  all.sort((a, b) => a.pValue - b.pValue);
  // The k-th smallest p-value is a discovery if it (or a larger rank's) is ≤ fdr · k / m.
  return all
    .slice(0, count)
    .map((t, i) => ({ ...t, bound: (book.fdr * (i + 1)) / Math.max(1, all.length) }));
}

export function points(c: Counts3): number {
  const n = c[0] + c[1] + c[2];
  return n === 0 ? 0.5 : (c[0] + c[1] / 2) / n;
}

export function parseOpeningBook(text: string): OpeningBook {
  const raw = JSON.parse(text) as Partial<OpeningBook>;
  if (raw.v !== 1 || typeof raw.positions !== 'object' || raw.positions === null)
    throw new Error(
      'not a version-1 opening book (expected {"v":1,"positions":{…}}); rebuild it with `selfplay stats`',
    );
  return raw as OpeningBook;
}
