/**
 * A position is plain data (three 32-bit square sets and the side to move) so it can cross
 * worker_threads / postMessage boundaries unchanged and be compared with ===.
 */
import { popcount } from './bitboard';

export type Color = 'white' | 'black';

export interface Position {
  /** Squares holding white pieces: bit i = square i+1 (uint32). */
  readonly white: number;
  /** Squares holding black pieces (uint32). */
  readonly black: number;
  /** Squares holding kings of either colour; always a subset of white | black (uint32). */
  readonly kings: number;
  readonly turn: Color;
}

export type Piece = { readonly color: Color; readonly king: boolean };

export function opposite(color: Color): Color {
  return color === 'white' ? 'black' : 'white';
}

export function initialPosition(): Position {
  return { white: 0x00000fff, black: 0xfff00000, kings: 0, turn: 'white' };
}

/** The piece on a square (1–32), or undefined if it is empty. */
export function pieceAt(pos: Position, square: number): Piece | undefined {
  const bit = 1 << (square - 1);
  const king = (pos.kings & bit) !== 0;
  if ((pos.white & bit) !== 0) return { color: 'white', king };
  if ((pos.black & bit) !== 0) return { color: 'black', king };
  return undefined;
}

export function samePosition(a: Position, b: Position): boolean {
  return a.white === b.white && a.black === b.black && a.kings === b.kings && a.turn === b.turn;
}

export interface Material {
  readonly whiteMen: number;
  readonly whiteKings: number;
  readonly blackMen: number;
  readonly blackKings: number;
}

export function material(pos: Position): Material {
  return {
    whiteMen: popcount(pos.white & ~pos.kings),
    whiteKings: popcount(pos.white & pos.kings),
    blackMen: popcount(pos.black & ~pos.kings),
    blackKings: popcount(pos.black & pos.kings),
  };
}

/** Builds a Position from int32 or uint32 sets, normalising them to uint32. */
export function makePosition(white: number, black: number, kings: number, turn: Color): Position {
  return { white: white >>> 0, black: black >>> 0, kings: kings >>> 0, turn };
}

/**
 * The same position seen from the other side: board rotated 180° (square n ↔ 33-n), colours
 * swapped. Rules are symmetric, so a position and its flip have mirrored move lists.
 */
export function flipPosition(pos: Position): Position {
  return makePosition(
    reverseBits(pos.black),
    reverseBits(pos.white),
    reverseBits(pos.kings),
    opposite(pos.turn),
  );
}

function reverseBits(x: number): number {
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
  x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
  return ((x >>> 16) | (x << 16)) >>> 0;
}
