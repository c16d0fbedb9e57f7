/**
 * Perft: the number of move sequences of a given length, counting unique moves (same start,
 * end and captured set = one move). The standard correctness check for a move generator.
 */
import { MoveList, countMoves, generateMoves } from './movegen';
import type { Position } from './position';
import { WHITE_PROMOTION, BLACK_PROMOTION } from './squares';

const lists: MoveList[] = [];
function listAt(ply: number): MoveList {
  let list = lists[ply];
  if (list === undefined) {
    list = new MoveList();
    lists[ply] = list;
  }
  return list;
}

function perftRec(own: number, opp: number, kings: number, white: boolean, depth: number, ply: number, bulk: boolean): number {
  if (bulk && depth === 1) return countMoves(own, opp, kings, white);
  const list = listAt(ply);
  generateMoves(own, opp, kings, white, list);
  if (depth === 1) return list.count;
  const promo = white ? WHITE_PROMOTION : BLACK_PROMOTION;
  let total = 0;
  for (let i = 0; i < list.count; i++) {
    const f = 1 << (list.from[i] as number);
    const t = 1 << (list.to[i] as number);
    const cap = list.captured[i] as number;
    const nOwn = (own & ~f) | t;
    let nKings = kings & ~cap;
    if ((kings & f) !== 0) nKings = (nKings & ~f) | t;
    else if ((t & promo) !== 0) nKings |= t;
    total += perftRec(opp & ~cap, nOwn, nKings, !white, depth - 1, ply + 1, bulk);
  }
  return total;
}

export interface PerftOptions {
  /** Count the last ply's moves without playing them (default true). Same result, faster. */
  readonly bulk?: boolean;
}

/** Number of unique move sequences of `depth` plies from `pos`. */
export function perft(pos: Position, depth: number, options: PerftOptions = {}): number {
  if (!Number.isInteger(depth) || depth < 0) throw new RangeError(`perft depth must be a non-negative integer, got ${depth}`);
  if (depth === 0) return 1;
  const white = pos.turn === 'white';
  const own = (white ? pos.white : pos.black) | 0;
  const opp = (white ? pos.black : pos.white) | 0;
  return perftRec(own, opp, pos.kings | 0, white, depth, 0, options.bulk ?? true);
}
