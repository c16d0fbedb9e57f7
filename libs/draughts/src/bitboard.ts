/**
 * 32-bit square sets. Values are kept as int32 in hot code (V8 keeps them unboxed); the public
 * Position stores them as uint32 (>>> 0) so bit 31 reads as a positive number.
 */

export function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Index of the lowest set bit; x must be non-zero. */
export function lowestBit(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Squares (1–32, ascending) of a set. */
export function squaresOf(set: number): number[] {
  const out: number[] = [];
  for (let x = set | 0; x !== 0; x &= x - 1) out.push(lowestBit(x) + 1);
  return out;
}

/** The set holding the given squares (1–32). */
export function setOf(squares: Iterable<number>): number {
  let set = 0;
  for (const s of squares) set |= 1 << (s - 1);
  return set >>> 0;
}
