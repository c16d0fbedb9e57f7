/**
 * Perft: the number of move sequences of a given length, counting unique moves (same start,
 * end and captured set = one move). The standard correctness check for a move generator, and
 * its speed benchmark, so quiet moves are enumerated straight from bitboards here instead of
 * through a MoveList.
 */
import * as movegen from './movegen';
import type { Position } from './position';
import * as squares from './squares';

const { MoveList, countMoves, generateCaptures, hasCapture } = movegen;
const NEIGHBOUR = squares.NEIGHBOUR;
const WHITE_PROMOTION = squares.WHITE_PROMOTION;
const BLACK_PROMOTION = squares.BLACK_PROMOTION;
const UL4 = squares.UL4;
const UL5 = squares.UL5;
const UR3 = squares.UR3;
const UR4 = squares.UR4;
const DL3 = squares.DL3;
const DL4 = squares.DL4;
const DR4 = squares.DR4;
const DR5 = squares.DR5;

const lists: movegen.MoveList[] = [];
function listAt(ply: number): movegen.MoveList {
  let list = lists[ply];
  if (list === undefined) {
    list = new MoveList();
    lists[ply] = list;
  }
  return list;
}

// Each step function maps a set one square along a diagonal; they are order-preserving
// bijections between their domain and range, so the k-th lowest target of step(men) came from
// the k-th lowest man that can make the step. That lets from/to bits be peeled off in lockstep.
const ul = (x: number): number => ((x & UL4) << 4) | ((x & UL5) << 5);
const ur = (x: number): number => ((x & UR3) << 3) | ((x & UR4) << 4);
const dl = (x: number): number => ((x & DL4) >>> 4) | ((x & DL3) >>> 3);
const dr = (x: number): number => ((x & DR5) >>> 5) | ((x & DR4) >>> 4);

function perftRec(
  own: number,
  opp: number,
  kings: number,
  white: boolean,
  depth: number,
  ply: number,
  bulk: boolean,
): number {
  if (depth === 0) return 1;
  if (bulk && depth === 1) return countMoves(own, opp, kings, white);
  const promo = white ? WHITE_PROMOTION : BLACK_PROMOTION;
  let total = 0;
  if (hasCapture(own, opp, kings, white)) {
    const list = listAt(ply);
    generateCaptures(own, opp, kings, white, list);
    for (let i = 0; i < list.count; i++) {
      const f = 1 << (list.from[i] as number);
      const t = 1 << (list.to[i] as number);
      const cap = list.captured[i] as number;
      let nKings = kings & ~cap;
      if ((kings & f) !== 0) nKings = (nKings & ~f) | t;
      else if ((t & promo) !== 0) nKings |= t;
      total += perftRec(opp & ~cap, (own & ~f) | t, nKings, !white, depth - 1, ply + 1, bulk);
    }
    return total;
  }
  const empty = ~(own | opp);
  const men = own & ~kings;
  for (let dir = 0; dir < 2; dir++) {
    let to = white
      ? (dir === 0 ? ul(men) : ur(men)) & empty
      : (dir === 0 ? dl(men) : dr(men)) & empty;
    let from = white ? (dir === 0 ? dr(to) : dl(to)) : dir === 0 ? ur(to) : ul(to);
    while (to !== 0) {
      const t = to & -to;
      const f = from & -from;
      to ^= t;
      from ^= f;
      total += perftRec(
        opp,
        own ^ f ^ t,
        (t & promo) !== 0 ? kings | t : kings,
        !white,
        depth - 1,
        ply + 1,
        bulk,
      );
    }
  }
  for (let k = own & kings; k !== 0; k &= k - 1) {
    const f = k & -k;
    const bit = 31 - Math.clz32(f);
    for (let d = 0; d < 128; d += 32) {
      for (
        let s = NEIGHBOUR[d + bit] as number;
        s >= 0 && (empty & (1 << s)) !== 0;
        s = NEIGHBOUR[d + s] as number
      ) {
        const t = 1 << s;
        total += perftRec(opp, own ^ f ^ t, kings ^ f ^ t, !white, depth - 1, ply + 1, bulk);
      }
    }
  }
  return total;
}

export interface PerftOptions {
  /** Count the last ply's moves without playing them (default true). Same result, faster. */
  readonly bulk?: boolean;
}

/** Number of unique move sequences of `depth` plies from `pos`. */
export function perft(pos: Position, depth: number, options: PerftOptions = {}): number {
  if (!Number.isInteger(depth) || depth < 0)
    throw new RangeError(`perft depth must be a non-negative integer, got ${depth}`);
  const white = pos.turn === 'white';
  const own = (white ? pos.white : pos.black) | 0;
  const opp = (white ? pos.black : pos.white) | 0;
  return perftRec(own, opp, pos.kings | 0, white, depth, 0, options.bulk ?? true);
}
