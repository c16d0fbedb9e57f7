/**
 * Zobrist hashing: a position's key is the XOR of one random number per (piece kind, square)
 * plus one for Black to move. Two 32-bit halves make a 64-bit key: `lo` picks the
 * transposition-table slot, `hi` verifies it.
 */
import { createRng } from './rng';
import type { Position } from './position';

/** Piece kinds index the key tables: kind * 32 + bit. */
export const WHITE_MAN = 0;
export const WHITE_KING = 1;
export const BLACK_MAN = 2;
export const BLACK_KING = 3;

function table(rng: () => number): Int32Array {
  const t = new Int32Array(128);
  for (let i = 0; i < 128; i++) t[i] = rng() | 0;
  return t;
}

// A fixed seed: keys must be identical in every thread and process so hashes can be shared.
const rng = createRng(0x5eed_d4a6);
export const ZOBRIST_LO = table(rng);
export const ZOBRIST_HI = table(rng);
export const SIDE_LO = rng() | 0;
export const SIDE_HI = rng() | 0;

export interface PositionKey {
  readonly lo: number;
  readonly hi: number;
}

export function hashPosition(pos: Position): PositionKey {
  let lo = pos.turn === 'black' ? SIDE_LO : 0;
  let hi = pos.turn === 'black' ? SIDE_HI : 0;
  for (let bit = 0; bit < 32; bit++) {
    const b = 1 << bit;
    let kind = -1;
    if ((pos.white & b) !== 0) kind = (pos.kings & b) !== 0 ? WHITE_KING : WHITE_MAN;
    else if ((pos.black & b) !== 0) kind = (pos.kings & b) !== 0 ? BLACK_KING : BLACK_MAN;
    if (kind < 0) continue;
    lo ^= ZOBRIST_LO[kind * 32 + bit] as number;
    hi ^= ZOBRIST_HI[kind * 32 + bit] as number;
  }
  return { lo, hi };
}

/** The key as one exact JavaScript number (53 bits), usable as a Map key. */
export function keyNumber(lo: number, hi: number): number {
  return (hi & 0x1fffff) * 0x100000000 + (lo >>> 0);
}

/** Output of updateKey (a shared scratch object, so the search allocates nothing per move). */
export const nextKey = { lo: 0, hi: 0 };

/**
 * The key after a move, from the key before it: the mover leaves `fromBit` and arrives on
 * `toBit` (as a king if it was one or `promotes`), the `captured` set is removed, and the side
 * to move flips. `kings` is the king set before the move. Result in nextKey.
 */
export function updateKey(
  lo: number,
  hi: number,
  kings: number,
  white: boolean,
  fromBit: number,
  toBit: number,
  captured: number,
  promotes: boolean,
): void {
  const wasKing = (kings & (1 << fromBit)) !== 0;
  const fromKind = white ? (wasKing ? WHITE_KING : WHITE_MAN) : wasKing ? BLACK_KING : BLACK_MAN;
  const toKind = promotes ? (white ? WHITE_KING : BLACK_KING) : fromKind;
  lo ^=
    SIDE_LO ^
    (ZOBRIST_LO[fromKind * 32 + fromBit] as number) ^
    (ZOBRIST_LO[toKind * 32 + toBit] as number);
  hi ^=
    SIDE_HI ^
    (ZOBRIST_HI[fromKind * 32 + fromBit] as number) ^
    (ZOBRIST_HI[toKind * 32 + toBit] as number);
  const oppMan = white ? BLACK_MAN : WHITE_MAN;
  const oppKing = white ? BLACK_KING : WHITE_KING;
  for (let c = captured; c !== 0; c &= c - 1) {
    const b = 31 - Math.clz32(c & -c);
    const kind = (kings & (1 << b)) !== 0 ? oppKing : oppMan;
    lo ^= ZOBRIST_LO[kind * 32 + b] as number;
    hi ^= ZOBRIST_HI[kind * 32 + b] as number;
  }
  nextKey.lo = lo;
  nextKey.hi = hi;
}
