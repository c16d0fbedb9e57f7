/**
 * Board geometry. Squares are numbered 1–32 from White's bottom-right corner, right to left,
 * bottom to top (the Spanish/Portuguese orientation: each player's bottom-right corner is a
 * playing square). Internally a square is its bit index 0–31 (square n ↔ bit n-1), so a set of
 * squares is a 32-bit integer.
 *
 * Row r (0 = White's back row) holds bits 4r..4r+3. On even rows bit 4r+k sits on column 7-2k,
 * on odd rows on column 6-2k (column 0 = file a, White's left).
 */

/** A playing square, 1–32. */
export type Square = number;

/** Diagonal directions, seen from White: up = towards Black. */
export type Dir = 0 | 1 | 2 | 3;
export const UP_LEFT = 0;
export const UP_RIGHT = 1;
export const DOWN_LEFT = 2;
export const DOWN_RIGHT = 3;

export interface Coords {
  /** 0 = White's back row, 7 = Black's back row. */
  readonly row: number;
  /** 0 = file a (White's left), 7 = file h. */
  readonly col: number;
}

export function isSquare(n: number): n is Square {
  return Number.isInteger(n) && n >= 1 && n <= 32;
}

export function bitCoords(bit: number): Coords {
  const row = bit >> 2;
  const k = bit & 3;
  return { row, col: (row & 1) === 0 ? 7 - 2 * k : 6 - 2 * k };
}

/** Row and column of a square (1–32), for drawing boards. */
export function squareCoords(square: Square): Coords {
  return bitCoords(square - 1);
}

/** The square at a row and column, or undefined for a light (non-playing) or off-board square. */
export function coordsToSquare(row: number, col: number): Square | undefined {
  if (row < 0 || row > 7 || col < 0 || col > 7 || ((row + col) & 1) === 0) return undefined;
  const k = (row & 1) === 0 ? (7 - col) / 2 : (6 - col) / 2;
  return row * 4 + k + 1;
}

const DELTAS: readonly (readonly [number, number])[] = [
  [1, -1], // UpLeft
  [1, 1], // UpRight
  [-1, -1], // DownLeft
  [-1, 1], // DownRight
];

/** NEIGHBOUR[dir * 32 + bit] = bit index of the diagonal neighbour, or -1 off the board. */
export const NEIGHBOUR: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let bit = 0; bit < 32; bit++) {
    const { row, col } = bitCoords(bit);
    for (let dir = 0; dir < 4; dir++) {
      const [dr, dc] = DELTAS[dir] as readonly [number, number];
      const target = coordsToSquare(row + dr, col + dc);
      if (target !== undefined) table[dir * 32 + bit] = target - 1;
    }
  }
  return table;
})();

/**
 * Shift masks. In this layout a diagonal step is a shift by 3, 4 or 5 depending on the row's
 * parity, so stepping a whole set one square in a direction is two masked shifts:
 * step(x) = (x & maskA) shifted by a | (x & maskB) shifted by b. Derived from NEIGHBOUR so
 * there is one source of truth for the geometry.
 */
function shiftMask(dir: Dir, delta: number): number {
  let mask = 0;
  for (let bit = 0; bit < 32; bit++)
    if (NEIGHBOUR[dir * 32 + bit] === bit + delta) mask |= 1 << bit;
  return mask;
}

export const UL4 = shiftMask(UP_LEFT, 4);
export const UL5 = shiftMask(UP_LEFT, 5);
export const UR3 = shiftMask(UP_RIGHT, 3);
export const UR4 = shiftMask(UP_RIGHT, 4);
export const DL4 = shiftMask(DOWN_LEFT, -4);
export const DL3 = shiftMask(DOWN_LEFT, -3);
export const DR5 = shiftMask(DOWN_RIGHT, -5);
export const DR4 = shiftMask(DOWN_RIGHT, -4);

/** White promotes on Black's back row (squares 29–32), Black on White's (1–4). */
export const WHITE_PROMOTION = 0xf0000000 | 0;
export const BLACK_PROMOTION = 0x0000000f;
