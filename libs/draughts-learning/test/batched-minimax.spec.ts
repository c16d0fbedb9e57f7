import {
  hashPosition,
  initialPosition,
  parseFen,
  type BatchScorer,
  type Position,
} from '@conveyor/draughts';
import { batchedMinimax, sequentialAlphaBeta } from '../src';

/** Deterministic, tie-free pseudo-evaluation from the position's hash (float32 like a network's output). */
function hashScorer(): BatchScorer & { calls: number; positions: number } {
  const s = {
    kind: 'batch' as const,
    calls: 0,
    positions: 0,
    scoreBatch(positions: readonly Position[]): Promise<Float32Array> {
      s.calls++;
      s.positions += positions.length;
      const out = new Float32Array(positions.length);
      positions.forEach((p, i) => {
        const k = hashPosition(p);
        out[i] = ((k.lo >>> 8) / 2 ** 24) * 2 - 1;
      });
      return Promise.resolve(out);
    },
  };
  return s;
}

function fen(text: string): Position {
  const r = parseFen(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

const POSITIONS: Position[] = [
  initialPosition(),
  fen('W:W9,10,11,12,14,15,17:B19,21,22,23,24,26,27'),
  fen('B:WK3,14,15,18:B19,20,22,K30'),
  fen('W:W14:BK18,19,32'),
  fen('B:W1,2,5,9,13,17,21:B24,27,28,31,32'),
];

describe('batched minimax', () => {
  it.each([1, 2, 3, 4])(
    'returns the move and value of sequential alpha-beta and plain minimax at depth %i',
    async (depth) => {
      for (const pos of POSITIONS) {
        const ab = await sequentialAlphaBeta(pos, hashScorer(), { depth });
        const mm = await sequentialAlphaBeta(pos, hashScorer(), { depth, prune: false });
        for (const batchSize of [1, 7, 256]) {
          const scorer = hashScorer();
          const r = await batchedMinimax(pos, scorer, { depth, batchSize });
          expect(r.score).toBe(ab.score);
          expect(r.score).toBe(mm.score);
          expect(r.move).toEqual(ab.move);
          expect(r.move).toEqual(mm.move);
          // One model call per full batch, and every distinct leaf scored once.
          expect(scorer.calls).toBe(Math.ceil(r.leaves / batchSize));
          expect(scorer.positions).toBe(r.leaves);
        }
      }
    },
  );

  it('makes far fewer model calls than one per position', async () => {
    const seq = hashScorer();
    await sequentialAlphaBeta(initialPosition(), seq, { depth: 4, prune: false });
    const batched = hashScorer();
    const r = await batchedMinimax(initialPosition(), batched, { depth: 4, batchSize: 256 });
    expect(seq.calls).toBeGreaterThan(r.leaves);
    expect(batched.calls).toBeLessThanOrEqual(Math.ceil(seq.calls / 256) + 1);
  });

  it('scores a lost position without calling the scorer', async () => {
    const scorer = hashScorer();
    const r = await batchedMinimax(fen('W:W:B25'), scorer, { depth: 3 });
    expect(r.move).toBeNull();
    expect(scorer.calls).toBe(0);
  });

  it('finds a forced win by capture through the extension', async () => {
    // White to move must capture 18 and wins the last black piece.
    const r = await batchedMinimax(fen('W:W14:B18'), hashScorer(), { depth: 1 });
    expect(r.score).toBeGreaterThan(900_000);
  });
});
