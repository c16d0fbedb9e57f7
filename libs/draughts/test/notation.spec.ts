/* eslint-disable @typescript-eslint/no-non-null-assertion -- in tests a missing value throws and fails the test, which is what we want */
import {
  allCapturePaths,
  formatMove,
  formatMoveLong,
  formatMovePath,
  initialPosition,
  legalMoves,
  parseFen,
  parseMove,
  sameMove,
  toFen,
  type Position,
} from '../src/index';
import { playoutPositions, randomPositions } from './helpers';

function fen(text: string): Position {
  const r = parseFen(text);
  if (!r.ok) throw new Error(`bad test FEN ${text}: ${r.error.message}`);
  return r.value;
}

describe('FEN', () => {
  it('reads ranges, kings, either colour order and whitespace', () => {
    expect(toFen(fen('W:W1-12:B21-32'))).toBe(toFen(initialPosition()));
    expect(fen('B:BK21-22,30:W5,K6')).toEqual(fen('B:W5,K6:BK21,K22,30'));
    expect(fen(' W : W 1 , 2 : B 30 ')).toEqual(fen('W:W1,2:B30'));
    expect(fen('W:W1,2:B30.')).toEqual(fen('W:W1,2:B30'));
  });
  it('round-trips through toFen', () => {
    for (const pos of [
      ...randomPositions(300, 1),
      ...playoutPositions(5, 60, 2, initialPosition()),
    ]) {
      expect(fen(toFen(pos))).toEqual(pos);
    }
  });
  it.each([
    ['', 1, /side to move/],
    ['X:W1:B2', 1, /side to move/],
    ['W:W1:B21:B3', 1, /3 ':'-separated sections/],
    ['W:W1,2:W21', 8, /listed twice/],
    ['W:W1,33:B21', 6, /square 33 is off the board/],
    ['W:W1,2:B2', 9, /square 2 is occupied twice/],
    ['W:W1,x:B21', 6, /found 'x'/],
    ['W:W12-9:B21', 4, /runs backwards/],
    ['W:W30:B21', 4, /white man on square 30/],
    ['W:W5:B3', 7, /black man on square 3/],
    ['W:Q5:B3', 3, /colour 'W' or 'B'/],
  ])('rejects %j at column %i', (text, column, message) => {
    const r = parseFen(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.message).toMatch(message);
      expect(r.error.column).toBe(column);
    }
  });
});

describe('move notation', () => {
  it('formats quiet moves and captures', () => {
    const pos = fen('W:WK1,11:B15,19,29');
    const moves = legalMoves(pos);
    expect(moves.map(formatMove)).toEqual(['1x23', '1x28', '1x32', '11x20']);
    expect(moves.map(formatMovePath)).toEqual(['1x23', '1x28', '1x32', '11x20']);
    expect(formatMoveLong(legalMoves(initialPosition())[0]!)).toBe('9-13');
    const double = legalMoves(fen('W:W10:BK13,14,23,29'))[0]!;
    expect(double.path).toEqual([19, 28]);
    expect(formatMovePath(double)).toBe('10x19x28');
  });
  it('parses every legal move back from each of its written forms', () => {
    for (const pos of [
      ...randomPositions(400, 8),
      ...playoutPositions(10, 80, 4, initialPosition()),
    ]) {
      const moves = legalMoves(pos);
      for (const m of moves) {
        for (const text of [formatMoveLong(m), formatMovePath(m)]) {
          const r = parseMove(pos, text);
          if (!r.ok) throw new Error(`${toFen(pos)} ${text}: ${r.error.message}`);
          expect(sameMove(r.value, m)).toBe(true);
        }
        const short = parseMove(pos, formatMove(m));
        const twins = moves.filter((o) => o.from === m.from && o.to === m.to);
        expect(short.ok).toBe(twins.length === 1);
      }
    }
  });
  it('accepts any path of a merged move and keeps the path given', () => {
    const pos = fen('W:WK11:B14,15,22,23');
    const paths = allCapturePaths(pos).filter((m) => m.from === 11 && m.to === 11);
    expect(paths.length).toBeGreaterThanOrEqual(2);
    for (const p of paths) {
      const r = parseMove(pos, formatMovePath(p));
      expect(r.ok && r.value.path).toEqual(p.path);
    }
  });
  it('explains what is wrong', () => {
    const start = initialPosition();
    const cases: [Position, string, RegExp][] = [
      [start, 'hello', /not a move/],
      [start, '11-16', /not legal for white; legal moves: 9-13, 10-14/],
      [start, '11x15', /not a capture here; write 11-15/],
      [start, '11-40', /square 40 .* off the board/],
      [fen('W:W14:BK18,19,32'), '14-21', /is a capture here; write 14x21/],
      [fen('W:W14:BK18,19,32'), '14x21[19]', /no capture 14x21 takes exactly \[19\]/],
      [fen('W:W10:BK13,14,23,29'), '10x17x28', /no legal capture follows the path 10x17x28/],
    ];
    for (const [pos, text, message] of cases) {
      const r = parseMove(pos, text);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.message).toMatch(message);
    }
  });
  it('asks for captured squares when from-to is ambiguous', () => {
    const pos = fen('W:WK16:B6,9,11,K12,17,27');
    const r = parseMove(pos, '16x31');
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.error.message).toBe(
        '16x31 is ambiguous: it could be 16x31[11,12,27] or 16x31[6,12,27]; add the captured squares',
      );
    const chosen = parseMove(pos, '16x31[27,12,6]');
    expect(chosen.ok && chosen.value.captured).toEqual([6, 12, 27]);
  });
});
