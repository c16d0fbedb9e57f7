import { hashPosition, initialPosition, legalMoves, makeMove } from '../src/index';
import { nextKey, updateKey } from '../src/zobrist';
import { playoutPositions, randomPositions } from './helpers';

describe('Zobrist keys', () => {
  it('the incremental update after every move equals hashing the new position', () => {
    for (const pos of [
      ...randomPositions(400, 12),
      ...playoutPositions(10, 80, 6, initialPosition()),
    ]) {
      const before = hashPosition(pos);
      for (const m of legalMoves(pos)) {
        let captured = 0;
        for (const c of m.captured) captured |= 1 << (c - 1);
        updateKey(
          before.lo,
          before.hi,
          pos.kings,
          pos.turn === 'white',
          m.from - 1,
          m.to - 1,
          captured,
          m.promotes,
        );
        expect({ lo: nextKey.lo, hi: nextKey.hi }).toEqual(hashPosition(makeMove(pos, m)));
      }
    }
  });
  it('tells apart positions that differ only in side to move or in a king', () => {
    const p = initialPosition();
    expect(hashPosition(p)).not.toEqual(hashPosition({ ...p, turn: 'black' }));
    expect(hashPosition(p)).not.toEqual(hashPosition({ ...p, kings: 1 }));
  });
});
