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
import * as bitboard from './bitboard';
import * as squares from './squares';

// Module-local copies: compiled to CommonJS, every use of an imported binding is a property
// read through a getter, which costs more than the bit operations around it in these loops.
const NEIGHBOUR = squares.NEIGHBOUR;
const UL4 = squares.UL4;
const UL5 = squares.UL5;
const UR3 = squares.UR3;
const UR4 = squares.UR4;
const DL3 = squares.DL3;
const DL4 = squares.DL4;
const DR4 = squares.DR4;
const DR5 = squares.DR5;
const UP_LEFT = squares.UP_LEFT;
const UP_RIGHT = squares.UP_RIGHT;
const DOWN_LEFT = squares.DOWN_LEFT;
const DOWN_RIGHT = squares.DOWN_RIGHT;
const lowestBit = bitboard.lowestBit;
const popcount = bitboard.popcount;

/** Upper bound on moves in one list: the most found in 200 000 random king-heavy positions is 56. */
export const MAX_MOVES = 256;
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
  /** Number of landing squares of capture i (quiet moves leave path and pathLength unset). */
  readonly pathLength = new Uint8Array(MAX_MOVES);
  /** Landing squares (bit indices) of capture i at path[i * MAX_PATH ...]. */
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

function record(
  to: number,
  captured: number,
  nCap: number,
  nKings: number,
  pathLength: number,
  dedupe: boolean,
): void {
  if (nCap < sBestCount || (nCap === sBestCount && nKings < sBestKings)) return;
  const list = sList;
  if (nCap > sBestCount || nKings > sBestKings) {
    list.count = 0;
    sBestCount = nCap;
    sBestKings = nKings;
  } else if (dedupe) {
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
  const base = i * MAX_PATH;
  for (let j = 0; j < pathLength; j++) list.path[base + j] = sPath[j] as number;
  list.count = i + 1;
}

// Man captures follow bitboards: from a one-bit set `b`, the piece jumped is step(b) & victims
// and the landing square step(step(b) & victims) & empty. Men only go forward, so two paths of
// one man never take the same set of pieces (each row crossed contributes a different piece),
// and their moves need no deduplication.
function menCapturesUp(
  b: number,
  captured: number,
  nCap: number,
  nKings: number,
  depth: number,
): void {
  const victims = sOpp & ~captured;
  const overL = ul(b) & victims;
  const landL = ul(overL) & sEmpty;
  const overR = ur(b) & victims;
  const landR = ur(overR) & sEmpty;
  if ((landL | landR) === 0) {
    if (nCap > 0) record(lowestBit(b), captured, nCap, nKings, depth, false);
    return;
  }
  if (landL !== 0) {
    sPath[depth] = lowestBit(landL);
    menCapturesUp(
      landL,
      captured | overL,
      nCap + 1,
      nKings + ((sOppKings & overL) !== 0 ? 1 : 0),
      depth + 1,
    );
  }
  if (landR !== 0) {
    sPath[depth] = lowestBit(landR);
    menCapturesUp(
      landR,
      captured | overR,
      nCap + 1,
      nKings + ((sOppKings & overR) !== 0 ? 1 : 0),
      depth + 1,
    );
  }
}

function menCapturesDown(
  b: number,
  captured: number,
  nCap: number,
  nKings: number,
  depth: number,
): void {
  const victims = sOpp & ~captured;
  const overL = dl(b) & victims;
  const landL = dl(overL) & sEmpty;
  const overR = dr(b) & victims;
  const landR = dr(overR) & sEmpty;
  if ((landL | landR) === 0) {
    if (nCap > 0) record(lowestBit(b), captured, nCap, nKings, depth, false);
    return;
  }
  if (landL !== 0) {
    sPath[depth] = lowestBit(landL);
    menCapturesDown(
      landL,
      captured | overL,
      nCap + 1,
      nKings + ((sOppKings & overL) !== 0 ? 1 : 0),
      depth + 1,
    );
  }
  if (landR !== 0) {
    sPath[depth] = lowestBit(landR);
    menCapturesDown(
      landR,
      captured | overR,
      nCap + 1,
      nKings + ((sOppKings & overR) !== 0 ? 1 : 0),
      depth + 1,
    );
  }
}

// Counting variants for bulk perft: tally the best (count, kings) and how many sequences reach it.
let tBest = 1;
let tKings = 0;
let tCount = 0;

function tally(nCap: number, nKings: number): void {
  if (nCap > tBest || (nCap === tBest && nKings > tKings)) {
    tBest = nCap;
    tKings = nKings;
    tCount = 1;
  } else if (nCap === tBest && nKings === tKings) tCount++;
}

function countUp(b: number, captured: number, nCap: number, nKings: number): void {
  const victims = sOpp & ~captured;
  const overL = ul(b) & victims;
  const landL = ul(overL) & sEmpty;
  const overR = ur(b) & victims;
  const landR = ur(overR) & sEmpty;
  if ((landL | landR) === 0) {
    if (nCap > 0) tally(nCap, nKings);
    return;
  }
  if (landL !== 0)
    countUp(landL, captured | overL, nCap + 1, nKings + ((sOppKings & overL) !== 0 ? 1 : 0));
  if (landR !== 0)
    countUp(landR, captured | overR, nCap + 1, nKings + ((sOppKings & overR) !== 0 ? 1 : 0));
}

function countDown(b: number, captured: number, nCap: number, nKings: number): void {
  const victims = sOpp & ~captured;
  const overL = dl(b) & victims;
  const landL = dl(overL) & sEmpty;
  const overR = dr(b) & victims;
  const landR = dr(overR) & sEmpty;
  if ((landL | landR) === 0) {
    if (nCap > 0) tally(nCap, nKings);
    return;
  }
  if (landL !== 0)
    countDown(landL, captured | overL, nCap + 1, nKings + ((sOppKings & overL) !== 0 ? 1 : 0));
  if (landR !== 0)
    countDown(landR, captured | overR, nCap + 1, nKings + ((sOppKings & overR) !== 0 ? 1 : 0));
}

/** Number of legal captures when the side to move has no kings (no deduplication needed). */
function countMenCaptures(own: number, opp: number, kings: number, white: boolean): number {
  sOpp = opp;
  sOppKings = opp & kings;
  sEmpty = ~(own | opp);
  tBest = 1;
  tKings = 0;
  tCount = 0;
  for (let m = menJumpers(own, opp, sEmpty, white); m !== 0; m &= m - 1) {
    if (white) countUp(m & -m, 0, 0, 0);
    else countDown(m & -m, 0, 0, 0);
  }
  return tCount;
}

function kingCaptures(
  bit: number,
  captured: number,
  nCap: number,
  nKings: number,
  depth: number,
): void {
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
    for (
      let land = NEIGHBOUR[d + over] as number;
      land >= 0 && (sEmpty & (1 << land)) !== 0;
      land = NEIGHBOUR[d + land] as number
    ) {
      extended = true;
      sPath[depth] = land;
      kingCaptures(land, nextCaptured, nCap + 1, nextKings, depth + 1);
    }
  }
  if (!extended && nCap > 0) record(bit, captured, nCap, nKings, depth, sDedupe);
}

/** Fills `list` with the legal captures (empty if none). */
export function generateCaptures(
  own: number,
  opp: number,
  kings: number,
  white: boolean,
  list: MoveList,
  dedupe = true,
): void {
  list.count = 0;
  list.captures = true;
  sList = list;
  sOpp = opp;
  sOppKings = opp & kings;
  sBestCount = 1;
  sBestKings = 0;
  sDedupe = dedupe;
  const empty = ~(own | opp);
  sEmpty = empty;
  for (let m = menJumpers(own & ~kings, opp, empty, white); m !== 0; m &= m - 1) {
    const b = m & -m;
    sFrom = lowestBit(b);
    if (white) menCapturesUp(b, 0, 0, 0, 0);
    else menCapturesDown(b, 0, 0, 0, 0);
  }
  for (let k = own & kings; k !== 0; k &= k - 1) {
    const bit = lowestBit(k);
    sFrom = bit;
    sEmpty = empty | (1 << bit); // the king has left its square and may pass over it again
    kingCaptures(bit, 0, 0, 0, 0);
  }
}

function pushQuiet(list: MoveList, from: number, to: number): void {
  const i = list.count;
  list.from[i] = from;
  list.to[i] = to;
  list.captured[i] = 0;
  list.count = i + 1;
}

/** Fills `list` with the non-capturing moves, pieces in ascending square order. */
export function generateQuiet(
  own: number,
  opp: number,
  kings: number,
  white: boolean,
  list: MoveList,
): void {
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
        for (
          let s = NEIGHBOUR[d + bit] as number;
          s >= 0 && (empty & (1 << s)) !== 0;
          s = NEIGHBOUR[d + s] as number
        ) {
          pushQuiet(list, bit, s);
        }
      }
    }
  }
}

/** Fills `list` with the legal moves: the captures if there are any, else the quiet moves. */
export function generateMoves(
  own: number,
  opp: number,
  kings: number,
  white: boolean,
  list: MoveList,
): void {
  if (hasCapture(own, opp, kings, white)) generateCaptures(own, opp, kings, white, list);
  else generateQuiet(own, opp, kings, white, list);
}

const countScratch = new MoveList();

/** Number of legal (unique) moves, without writing them out when there is no capture. */
export function countMoves(own: number, opp: number, kings: number, white: boolean): number {
  if (hasCapture(own, opp, kings, white)) {
    if ((own & kings) === 0) return countMenCaptures(own, opp, kings, white);
    generateCaptures(own, opp, kings, white, countScratch);
    return countScratch.count;
  }
  const empty = ~(own | opp);
  const men = own & ~kings;
  let n = white
    ? popcount(ul(men) & empty) + popcount(ur(men) & empty)
    : popcount(dl(men) & empty) + popcount(dr(men) & empty);
  for (let k = own & kings; k !== 0; k &= k - 1) {
    const bit = lowestBit(k);
    for (let d = 0; d < 128; d += 32) {
      for (
        let s = NEIGHBOUR[d + bit] as number;
        s >= 0 && (empty & (1 << s)) !== 0;
        s = NEIGHBOUR[d + s] as number
      )
        n++;
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
