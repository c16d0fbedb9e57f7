/**
 * The fast move generator: writes moves into preallocated typed arrays (MoveList) so perft and
 * search allocate nothing per node. Works side-relative on int32 sets: `own` is the side to move,
 * `white` says which way its men go.
 *
 * Capture rules implemented here (Spanish federation): capture is compulsory; the sequence taking
 * the most pieces must be played, then among those the one taking the most kings; captured
 * pieces stay on the board until the move ends (so they block and cannot be jumped twice); men
 * capture forward only; kings fly. Two sequences with the same start, end and captured set are
 * one move (deduplicated unless the caller asks for every path).
 */
import { lowestBit, popcount } from './bitboard';
import {
  DL3,
  DL4,
  DOWN_LEFT,
  DOWN_RIGHT,
  DR4,
  DR5,
  NEIGHBOUR,
  UL4,
  UL5,
  UP_LEFT,
  UP_RIGHT,
  UR3,
  UR4,
} from './squares';

/** Upper bound on moves in one list; far above any position reachable in play. */
export const MAX_MOVES = 1024;
/** Upper bound on landing squares of one capture: at most 12 pieces can be taken. */
export const MAX_PATH = 16;

export class MoveList {
  count = 0;
  /** True when the list holds captures (a list is all captures or all quiet moves). */
  captures = false;
  readonly from = new Int8Array(MAX_MOVES);
  readonly to = new Int8Array(MAX_MOVES);
  /** Captured squares as a bit set. */
  readonly captured = new Int32Array(MAX_MOVES);
  /** Number of landing squares (1 for a quiet move). */
  readonly pathLength = new Uint8Array(MAX_MOVES);
  /** Landing squares (bit indices) of move i at path[i * MAX_PATH ...]. */
  readonly path = new Int8Array(MAX_MOVES * MAX_PATH);
}

const ul = (x: number): number => ((x & UL4) << 4) | ((x & UL5) << 5);
const ur = (x: number): number => ((x & UR3) << 3) | ((x & UR4) << 4);
const dl = (x: number): number => ((x & DL4) >>> 4) | ((x & DL3) >>> 3);
const dr = (x: number): number => ((x & DR5) >>> 5) | ((x & DR4) >>> 4);

/** Men of the side to move that have a jump available (ignoring the longest-capture rule). */
function menJumpers(men: number, opp: number, empty: number, white: boolean): number {
  if (white) return dr(dr(ul(ul(men) & opp) & empty)) | dl(dl(ur(ur(men) & opp) & empty));
  return ur(ur(dl(dl(men) & opp) & empty)) | ul(ul(dr(dr(men) & opp) & empty));
}

function kingCanCapture(bit: number, opp: number, empty: number): boolean {
  for (let d = 0; d < 128; d += 32) {
    let s = NEIGHBOUR[d + bit] as number;
    while (s >= 0 && (empty & (1 << s)) !== 0) s = NEIGHBOUR[d + s] as number;
    if (s < 0 || (opp & (1 << s)) === 0) continue;
    const land = NEIGHBOUR[d + s] as number;
    if (land >= 0 && (empty & (1 << land)) !== 0) return true;
  }
  return false;
}

export function hasCapture(own: number, opp: number, kings: number, white: boolean): boolean {
  const empty = ~(own | opp);
  if (menJumpers(own & ~kings, opp, empty, white) !== 0) return true;
  for (let k = own & kings; k !== 0; k &= k - 1) {
    if (kingCanCapture(lowestBit(k), opp, empty)) return true;
  }
  return false;
}

// Scratch state of the capture search. Module-level rather than closure-captured so the
// recursive functions stay monomorphic and allocation-free.
let sList: MoveList = new MoveList();
let sOpp = 0;
let sOppKings = 0;
let sEmpty = 0;
let sFrom = 0;
let sBestCount = 1;
let sBestKings = 0;
let sDedupe = true;
const sPath = new Int8Array(MAX_PATH);

function record(to: number, captured: number, nCap: number, nKings: number, pathLength: number): void {
  if (nCap < sBestCount || (nCap === sBestCount && nKings < sBestKings)) return;
  const list = sList;
  if (nCap > sBestCount || nKings > sBestKings) {
    list.count = 0;
    sBestCount = nCap;
    sBestKings = nKings;
  } else if (sDedupe) {
    for (let i = 0; i < list.count; i++) {
      if (list.captured[i] === captured && list.to[i] === to && list.from[i] === sFrom) return;
    }
  }
  const i = list.count;
  if (i === MAX_MOVES) throw new RangeError(`more than ${MAX_MOVES} captures in one position`);
  list.from[i] = sFrom;
  list.to[i] = to;
  list.captured[i] = captured;
  list.pathLength[i] = pathLength;
  list.path.set(sPath.subarray(0, pathLength), i * MAX_PATH);
  list.count = i + 1;
}

function manCaptures(bit: number, firstDir: number, captured: number, nCap: number, nKings: number, depth: number): void {
  let extended = false;
  for (let d = firstDir * 32, end = d + 64; d < end; d += 32) {
    const over = NEIGHBOUR[d + bit] as number;
    if (over < 0) continue;
    const overBit = 1 << over;
    if ((sOpp & overBit) === 0 || (captured & overBit) !== 0) continue;
    const land = NEIGHBOUR[d + over] as number;
    if (land < 0 || (sEmpty & (1 << land)) === 0) continue;
    extended = true;
    sPath[depth] = land;
    manCaptures(land, firstDir, captured | overBit, nCap + 1, nKings + ((sOppKings & overBit) !== 0 ? 1 : 0), depth + 1);
  }
  if (!extended && nCap > 0) record(bit, captured, nCap, nKings, depth);
}

function kingCaptures(bit: number, captured: number, nCap: number, nKings: number, depth: number): void {
  let extended = false;
  for (let d = 0; d < 128; d += 32) {
    let over = NEIGHBOUR[d + bit] as number;
    while (over >= 0 && (sEmpty & (1 << over)) !== 0) over = NEIGHBOUR[d + over] as number;
    if (over < 0) continue;
    const overBit = 1 << over;
    // Own pieces and already-captured ones (still on the board) both block the ray.
    if ((sOpp & overBit) === 0 || (captured & overBit) !== 0) continue;
    const nextCaptured = captured | overBit;
    const nextKings = nKings + ((sOppKings & overBit) !== 0 ? 1 : 0);
    for (let land = NEIGHBOUR[d + over] as number; land >= 0 && (sEmpty & (1 << land)) !== 0; land = NEIGHBOUR[d + land] as number) {
      extended = true;
      sPath[depth] = land;
      kingCaptures(land, nextCaptured, nCap + 1, nextKings, depth + 1);
    }
  }
  if (!extended && nCap > 0) record(bit, captured, nCap, nKings, depth);
}

/** Fills `list` with the legal captures (empty if none). */
export function generateCaptures(own: number, opp: number, kings: number, white: boolean, list: MoveList, dedupe = true): void {
  list.count = 0;
  list.captures = true;
  sList = list;
  sOpp = opp;
  sOppKings = opp & kings;
  sBestCount = 1;
  sBestKings = 0;
  sDedupe = dedupe;
  const empty = ~(own | opp);
  const firstDir = white ? UP_LEFT : DOWN_LEFT;
  for (let m = menJumpers(own & ~kings, opp, empty, white); m !== 0; m &= m - 1) {
    const bit = lowestBit(m);
    sFrom = bit;
    sEmpty = empty | (1 << bit); // the capturing piece has left its square
    manCaptures(bit, firstDir, 0, 0, 0, 0);
  }
  for (let k = own & kings; k !== 0; k &= k - 1) {
    const bit = lowestBit(k);
    sFrom = bit;
    sEmpty = empty | (1 << bit);
    kingCaptures(bit, 0, 0, 0, 0);
  }
}

function pushQuiet(list: MoveList, from: number, to: number): void {
  const i = list.count;
  list.from[i] = from;
  list.to[i] = to;
  list.captured[i] = 0;
  list.pathLength[i] = 1;
  list.path[i * MAX_PATH] = to;
  list.count = i + 1;
}

/** Fills `list` with the non-capturing moves, pieces in ascending square order. */
export function generateQuiet(own: number, opp: number, kings: number, white: boolean, list: MoveList): void {
  list.count = 0;
  list.captures = false;
  const empty = ~(own | opp);
  const d0 = (white ? UP_LEFT : DOWN_LEFT) * 32;
  const d1 = (white ? UP_RIGHT : DOWN_RIGHT) * 32;
  for (let p = own; p !== 0; p &= p - 1) {
    const bit = lowestBit(p);
    if ((kings & (1 << bit)) === 0) {
      const a = NEIGHBOUR[d0 + bit] as number;
      if (a >= 0 && (empty & (1 << a)) !== 0) pushQuiet(list, bit, a);
      const b = NEIGHBOUR[d1 + bit] as number;
      if (b >= 0 && (empty & (1 << b)) !== 0) pushQuiet(list, bit, b);
    } else {
      for (let d = 0; d < 128; d += 32) {
        for (let s = NEIGHBOUR[d + bit] as number; s >= 0 && (empty & (1 << s)) !== 0; s = NEIGHBOUR[d + s] as number) {
          pushQuiet(list, bit, s);
        }
      }
    }
  }
}

/** Fills `list` with the legal moves: the captures if there are any, else the quiet moves. */
export function generateMoves(own: number, opp: number, kings: number, white: boolean, list: MoveList): void {
  if (hasCapture(own, opp, kings, white)) generateCaptures(own, opp, kings, white, list);
  else generateQuiet(own, opp, kings, white, list);
}

const countScratch = new MoveList();

/** Number of legal (unique) moves, without writing them out when there is no capture. */
export function countMoves(own: number, opp: number, kings: number, white: boolean): number {
  if (hasCapture(own, opp, kings, white)) {
    generateCaptures(own, opp, kings, white, countScratch);
    return countScratch.count;
  }
  const empty = ~(own | opp);
  const men = own & ~kings;
  let n = white ? popcount(ul(men) & empty) + popcount(ur(men) & empty) : popcount(dl(men) & empty) + popcount(dr(men) & empty);
  for (let k = own & kings; k !== 0; k &= k - 1) {
    const bit = lowestBit(k);
    for (let d = 0; d < 128; d += 32) {
      for (let s = NEIGHBOUR[d + bit] as number; s >= 0 && (empty & (1 << s)) !== 0; s = NEIGHBOUR[d + s] as number) n++;
    }
  }
  return n;
}

/** Whether the side to move has a non-capturing move (a king only needs one empty neighbour). */
export function hasQuietMove(own: number, opp: number, kings: number, white: boolean): boolean {
  const empty = ~(own | opp);
  const men = own & ~kings;
  if (((white ? ul(men) | ur(men) : dl(men) | dr(men)) & empty) !== 0) return true;
  const k = own & kings;
  return ((ul(k) | ur(k) | dl(k) | dr(k)) & empty) !== 0;
}
