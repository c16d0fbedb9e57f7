import { createRng, legalMoves, makeMove, makePosition, type Position } from '../src/index';
import type { RefPosition } from './reference-rules';

export function toRef(pos: Position): RefPosition {
  const pieces = new Map<number, { white: boolean; king: boolean }>();
  for (let sq = 1; sq <= 32; sq++) {
    const bit = 1 << (sq - 1);
    if ((pos.white & bit) !== 0) pieces.set(sq, { white: true, king: (pos.kings & bit) !== 0 });
    if ((pos.black & bit) !== 0) pieces.set(sq, { white: false, king: (pos.kings & bit) !== 0 });
  }
  return { whiteToMove: pos.turn === 'white', pieces };
}

/** Random legal-looking positions: random squares, random kings, men never on their promotion row. */
export function randomPositions(count: number, seed: number): Position[] {
  const rng = createRng(seed);
  const out: Position[] = [];
  while (out.length < count) {
    let white = 0;
    let black = 0;
    let kings = 0;
    const nWhite = 1 + (rng() % 12);
    const nBlack = 1 + (rng() % 12);
    const kingShare = rng() % 4; // 0: no kings … 3: mostly kings
    for (const [n, isWhite] of [
      [nWhite, true],
      [nBlack, false],
    ] as const) {
      for (let placed = 0; placed < n;) {
        const bit = rng() % 32;
        const b = 1 << bit;
        if (((white | black) & b) !== 0) continue;
        const king = rng() % 4 < kingShare || (isWhite ? bit >= 28 : bit < 4);
        if (isWhite) white |= b;
        else black |= b;
        if (king) kings |= b;
        placed++;
      }
    }
    out.push(makePosition(white, black, kings, rng() % 2 === 0 ? 'white' : 'black'));
  }
  return out;
}

/** Positions from random games from the start. */
export function playoutPositions(
  games: number,
  plies: number,
  seed: number,
  start: Position,
): Position[] {
  const rng = createRng(seed);
  const out: Position[] = [];
  for (let g = 0; g < games; g++) {
    let pos = start;
    for (let i = 0; i < plies; i++) {
      const moves = legalMoves(pos);
      if (moves.length === 0) break;
      pos = makeMove(pos, moves[rng() % moves.length] as (typeof moves)[number]);
      out.push(pos);
    }
  }
  return out;
}
