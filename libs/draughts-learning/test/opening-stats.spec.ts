/* eslint-disable @typescript-eslint/no-non-null-assertion -- in tests a missing value throws and fails the test, which is what we want */
import {
  createRng,
  initialPosition,
  legalMoves,
  formatMoveLong,
  toFen,
  newGame,
  parseFen,
  type Position,
} from '@conveyor/draughts';
import {
  buildOpeningBook,
  gameSeed,
  playSelfPlayGame,
  replayRecord,
  selectWithBook,
  significantOnly,
  smallestPValues,
  summarizeBook,
  type GameRecord,
} from '../src';

const d1 = { label: 'd1', depth: 1 };
const records: GameRecord[] = Array.from({ length: 120 }, (_, id) =>
  playSelfPlayGame({ white: d1, black: d1, id, seed: gameSeed(5, id), maxPlies: 40 }),
);

describe('opening statistics', () => {
  it('counts every game at the start position, and move counts add up to position counts', () => {
    const book = buildOpeningBook(records, { maxPly: 4, minGames: 5 });
    const start = book.positions[toFen(initialPosition())]!;
    expect(start.counts[0] + start.counts[1] + start.counts[2]).toBe(120);
    for (const e of Object.values(book.positions)) {
      const sum = [0, 0, 0];
      for (const m of Object.values(e.moves)) m.counts.forEach((c, i) => (sum[i]! += c));
      expect(sum).toEqual([...e.counts]);
    }
  });

  it('flags a move that always wins as significant, and the selector prefers it among tied moves', () => {
    // Relabel results: White wins exactly the games that opened with the most common first move.
    const firsts = records.map((r) => formatMoveLong(replayRecord(r).moves[0]!));
    const counts = new Map<string, number>();
    for (const f of firsts) counts.set(f, (counts.get(f) ?? 0) + 1);
    const good = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    const relabelled = records.map(
      (r, i) => ({ ...r, result: firsts[i] === good ? '1-0' : '0-1' }) as GameRecord,
    );
    const book = buildOpeningBook(relabelled, { maxPly: 1, minGames: 5 });
    const start = book.positions[toFen(initialPosition())]!;
    expect(start.moves[good]!.significant).toBe(true);
    expect(start.moves[good]!.score).toBe(1);
    const tied = legalMoves(initialPosition()).map((move) => ({ move, score: 0 }));
    const next = createRng(3);
    for (let i = 0; i < 10; i++)
      expect(
        formatMoveLong(selectWithBook(book, newGame(), tied, () => next() / 2 ** 32).move),
      ).toBe(good);
  });

  it('a book pruned to its significant moves selects exactly as the full book', () => {
    const firsts = records.map((r) => formatMoveLong(replayRecord(r).moves[0]!));
    const relabelled = records.map(
      (r, i) => ({ ...r, result: firsts[i] === firsts[0] ? '1-0' : '1/2-1/2' }) as GameRecord,
    );
    const full = buildOpeningBook(relabelled, { maxPly: 4, minGames: 5 });
    const pruned = significantOnly(full);
    const s = summarizeBook(full);
    expect(s.significant).toBeGreaterThan(0);
    expect(Object.keys(pruned.positions).length).toBeLessThan(s.positions);
    expect(summarizeBook(pruned)).toEqual(s);
    expect(smallestPValues(full, 1)[0]!.pValue).toBeLessThanOrEqual(
      smallestPValues(full, 1)[0]!.bound,
    );
    for (const fen of Object.keys(full.positions)) {
      const parsed = parseFen(fen);
      if (!parsed.ok) throw new Error(parsed.error.message);
      const pos: Position = parsed.value;
      const tied = legalMoves(pos).map((move) => ({ move, score: 0 }));
      const pick = (book: typeof full) => {
        const next = createRng(7);
        return formatMoveLong(
          selectWithBook(book, newGame(pos), tied, () => next() / 2 ** 32).move,
        );
      };
      expect(pick(pruned)).toBe(pick(full));
    }
  });

  it('marks nothing significant when results do not depend on the move', () => {
    const coin = createRng(11);
    const random = records.map((r) => ({ ...r, result: coin() % 2 ? '1-0' : '0-1' }) as GameRecord);
    const book = buildOpeningBook(random, { maxPly: 1, minGames: 5 });
    const start = book.positions[toFen(initialPosition())]!;
    expect(Object.values(start.moves).filter((m) => m.significant)).toHaveLength(0);
  });
});
