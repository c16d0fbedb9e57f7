import {
  flipPosition,
  formatMoveLong,
  initialPosition,
  legalMoves,
  makeMove,
  parseFen,
  perft,
  toFen,
  type Move,
  type Position,
} from '../src/index';
import { playoutPositions, randomPositions, toRef } from './helpers';
import { referenceMoves } from './reference-rules';

function fen(text: string): Position {
  const r = parseFen(text);
  if (!r.ok) throw new Error(`bad test FEN ${text}: ${r.error.message}`);
  return r.value;
}

const long = (pos: Position): string[] => legalMoves(pos).map(formatMoveLong).sort();

describe('published rule positions', () => {
  it.each([
    ['W:W14:BK18,19,32', ['14x21[18]']], // quality: take the king rather than the man
    ['W:W10:BK13,14,23,29', ['10x28[14,23]']],
    ['W:WK1,11:B15,19,29', ['11x20[15]', '1x23[19]', '1x28[19]', '1x32[19]']], // flying king lands anywhere beyond
    ['W:W6:B10,11,18,K20,32', ['6x24[11,20]']], // equal count, more kings wins
    ['W:WK1:B14,22', ['1x26[14,22]', '1x29[14,22]']],
  ])('%s', (text, expected) => {
    expect(long(fen(text))).toEqual([...expected].sort());
  });
});

describe('perft from the initial position (unique moves)', () => {
  const published = [7, 49, 302, 1469, 7361, 36473, 177532, 828783];
  it.each(published.map((n, i) => [i + 1, n]))('depth %i = %i', (depth, n) => {
    expect(perft(initialPosition(), depth)).toBe(n);
  });
  it('bulk counting and playing every leaf agree', () => {
    for (let d = 1; d <= 6; d++)
      expect(perft(initialPosition(), d, { bulk: false })).toBe(perft(initialPosition(), d));
  });
});

describe('rules details', () => {
  it('a king may capture round a loop and end on its own square, listed once', () => {
    // King on 11 (d3) takes 14, 22, 23, 15 round a diamond, clockwise or anticlockwise:
    // two paths, one move.
    const pos = fen('W:WK11:B14,15,22,23');
    const moves = long(pos);
    expect(moves.filter((m) => m === '11x11[14,15,22,23]')).toHaveLength(1);
    expect(moves).toEqual(referenceMoves(toRef(pos)));
  });
  it('a captured piece cannot be jumped again on the way back', () => {
    expect(long(fen('W:WK1:B10'))).toEqual(
      ['1x14[10]', '1x19[10]', '1x23[10]', '1x28[10]', '1x32[10]'].sort(),
    );
  });
  it('a man promotes only at the end of the move and stops there', () => {
    const pos = fen('W:W22:B26');
    const [m] = legalMoves(pos);
    expect(m && formatMoveLong(m)).toBe('22x29[26]');
    expect(m?.promotes).toBe(true);
    expect(toFen(makeMove(pos, m as Move))).toBe('B:WK29:B');
  });
  it('a side without pieces has no moves', () => {
    expect(legalMoves(fen('B:W1:B'))).toEqual([]);
  });
});

describe('agrees with a naive reference implementation', () => {
  it('on random positions with kings', () => {
    for (const pos of randomPositions(3000, 11)) {
      const engine = long(pos);
      const reference = referenceMoves(toRef(pos));
      if (engine.join(' ') !== reference.join(' '))
        throw new Error(
          `${toFen(pos)}\nengine:    ${engine.join(' ')}\nreference: ${reference.join(' ')}`,
        );
    }
  });
  it('on positions from random games', () => {
    for (const pos of playoutPositions(60, 120, 5, initialPosition())) {
      expect(long(pos)).toEqual(referenceMoves(toRef(pos)));
    }
  });
});

describe('symmetry and purity', () => {
  const mirror = (m: Move): string =>
    formatMoveLong({
      ...m,
      from: 33 - m.from,
      to: 33 - m.to,
      captured: m.captured.map((c) => 33 - c).sort((a, b) => a - b),
    } as Move);
  it('colour flip mirrors the move list', () => {
    for (const pos of [
      ...randomPositions(500, 3),
      ...playoutPositions(10, 60, 9, initialPosition()),
    ]) {
      expect(legalMoves(flipPosition(pos)).map(formatMoveLong).sort()).toEqual(
        legalMoves(pos).map(mirror).sort(),
      );
    }
  });
  it('flip is an involution and perft is flip-invariant', () => {
    for (const pos of randomPositions(50, 21)) {
      expect(flipPosition(flipPosition(pos))).toEqual(pos);
      expect(perft(flipPosition(pos), 3)).toBe(perft(pos, 3));
    }
  });
  it('makeMove leaves its input alone and keeps the sets consistent', () => {
    for (const pos of playoutPositions(20, 80, 17, initialPosition())) {
      const before = { ...pos };
      for (const m of legalMoves(pos)) {
        const next = makeMove(pos, m);
        expect(next.white & next.black).toBe(0);
        expect((next.kings & ~(next.white | next.black)) >>> 0).toBe(0);
        expect(next.turn).not.toBe(pos.turn);
        const moved = pos.turn === 'white' ? 'white' : 'black';
        const other = pos.turn === 'white' ? 'black' : 'white';
        const count = (x: number): number => x.toString(2).split('1').length - 1;
        expect(count(next[moved])).toBe(count(pos[moved]));
        expect(count(next[other])).toBe(count(pos[other]) - m.captured.length);
      }
      expect(pos).toEqual(before);
    }
  });
});
