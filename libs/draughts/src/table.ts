/**
 * The transposition table: search results keyed by Zobrist hash, so a position reached by
 * different move orders is searched once (the memoization that makes deep search affordable).
 * One slot per index, always replaced: simple, and good enough at these node counts.
 * Create one and pass it to several searches (e.g. the moves of a self-play game) to avoid
 * reallocating it and to reuse what earlier searches learned.
 *
 * Layout: the key halves and a packed word (depth, bound, best move) sit together in one
 * 16-byte slot of `entries`, so a probe touches one cache line; the score lives apart and is
 * read only on a match. The probe was the single most expensive line of the search before.
 */
export const EMPTY = 0;
export const EXACT = 1;
export const LOWER = 2;
export const UPPER = 3;

export class TranspositionTable {
  readonly size: number;
  readonly mask: number;
  /** Per slot i: [4i] key lo, [4i+1] key hi, [4i+2] meta = depth | bound << 8 | move << 10. */
  readonly entries: Int32Array;
  readonly scores: Float64Array;

  /** 2^bits slots of 24 bytes; default 18 (about 6 MB). */
  constructor(bits = 18) {
    if (!Number.isInteger(bits) || bits < 4 || bits > 26)
      throw new RangeError(`table bits must be an integer from 4 to 26, got ${bits}`);
    this.size = 1 << bits;
    this.mask = this.size - 1;
    this.entries = new Int32Array(this.size * 4);
    this.scores = new Float64Array(this.size);
  }

  clear(): void {
    this.entries.fill(0);
  }
}
