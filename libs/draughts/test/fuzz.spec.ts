import {
  createRng,
  initialPosition,
  legalMoves,
  parseFen,
  parseMove,
  parsePdn,
  toFen,
} from '../src/index';
import { randomPositions } from './helpers';

/** Random edits (delete, insert, replace, duplicate a slice) of a valid text. */
function mutations(text: string, count: number, seed: number): string[] {
  const rng = createRng(seed);
  const alphabet = 'WBK0123456789,:-x[]" .{}()*/\n$!?;\\';
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let t = text;
    for (let edits = 1 + (rng() % 3); edits > 0; edits--) {
      const at = rng() % (t.length + 1);
      const ch = alphabet[rng() % alphabet.length] as string;
      switch (rng() % 4) {
        case 0:
          t = t.slice(0, at) + t.slice(at + 1);
          break;
        case 1:
          t = t.slice(0, at) + ch + t.slice(at);
          break;
        case 2:
          t = t.slice(0, at) + ch + t.slice(at + 1);
          break;
        default:
          t = t.slice(0, at) + t.slice(at, at + 1 + (rng() % 5)) + t.slice(at);
      }
    }
    out.push(t);
  }
  return out;
}

describe('bad input gives a Result error, never an exception', () => {
  it('FEN', () => {
    const seeds = [
      toFen(initialPosition()),
      'W:W1-12:B21-32',
      'B:WK4,9:BK30,17',
      ...randomPositions(5, 9).map(toFen),
    ];
    for (const [i, fen] of seeds.entries()) {
      for (const text of mutations(fen, 400, i)) {
        const r = parseFen(text);
        if (!r.ok) {
          expect(r.error.column).toBeGreaterThanOrEqual(1);
          expect(r.error.column).toBeLessThanOrEqual(text.length + 1);
          expect(r.error.message.length).toBeGreaterThan(10);
        } else {
          // Whatever parsed must be a consistent position.
          expect(r.value.white & r.value.black).toBe(0);
          expect(parseFen(toFen(r.value))).toEqual(r);
        }
      }
    }
  });
  it('PDN', () => {
    const pdn =
      '[Event "x"]\n[FEN "W:W9,10,11:B21,22,K30"]\n1. 9-13 22-18 2. 13-17 {c} 21x14 (2... 30-26) 3. 10x19 *\n';
    for (const text of mutations(pdn, 1500, 77)) {
      const r = parsePdn(text);
      if (!r.ok) {
        expect(r.error.line).toBeGreaterThanOrEqual(1);
        expect(r.error.column).toBeGreaterThanOrEqual(1);
      }
    }
  });
  it('moves', () => {
    const pos = initialPosition();
    const texts = legalMoves(pos).flatMap((m) =>
      mutations(`${m.from}-${m.to}`, 100, m.from * 100 + m.to),
    );
    for (const text of [
      ...texts,
      '',
      'x',
      '99x99x99',
      '1x2x3x4x5x6x7x8x9x10x11x12x13x14x15x16x17',
      '12-16[',
      '12x16[1,,2]',
    ]) {
      const r = parseMove(pos, text);
      if (!r.ok) expect(r.error.message.length).toBeGreaterThan(10);
    }
  });
});
