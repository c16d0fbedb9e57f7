/**
 * The transposition table: search results keyed by Zobrist hash, so a position reached by
 * different move orders is searched once (the memoization that makes deep search affordable).
 * One slot per index, always replaced: simple, and good enough at these node counts.
 * Create one and pass it to several searches (e.g. the moves of a self-play game) to avoid
 * reallocating it and to reuse what earlier searches learned.
 */
export const EMPTY = 0;
export const EXACT = 1;
export const LOWER = 2;
export const UPPER = 3;

export class TranspositionTable {
  readonly size: number;
  readonly mask: number;
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  readonly score: Float64Array;
  readonly depth: Int8Array;
  /** EMPTY, EXACT, LOWER (score is a lower bound) or UPPER. */
  readonly flag: Uint8Array;
  /** Index of the best move in the position's generated move list. */
  readonly move: Int16Array;

  /** 2^bits entries of 20 bytes; default 18 (about 5 MB). */
  constructor(bits = 18) {
    if (!Number.isInteger(bits) || bits < 4 || bits > 26) throw new RangeError(`table bits must be an integer from 4 to 26, got ${bits}`);
    this.size = 1 << bits;
    this.mask = this.size - 1;
    this.lo = new Int32Array(this.size);
    this.hi = new Int32Array(this.size);
    this.score = new Float64Array(this.size);
    this.depth = new Int8Array(this.size);
    this.flag = new Uint8Array(this.size);
    this.move = new Int16Array(this.size);
  }

  clear(): void {
    this.flag.fill(EMPTY);
  }
}
