/**
 * Moves as plain objects for the public API (the engine's hot paths use MoveList instead).
 */
import { squaresOf } from './bitboard';
import { MAX_PATH, MoveList, generateCaptures, generateMoves } from './movegen';
import { makePosition, opposite, type Position } from './position';
import { BLACK_PROMOTION, WHITE_PROMOTION, type Square } from './squares';

interface MoveBase {
  /** Square the piece starts on (1–32). */
  readonly from: Square;
  /** Square it ends on; may equal `from` for a king capturing round a loop. */
  readonly to: Square;
  /** Landing squares in order; the last is `to`. A quiet move's path is [to]. */
  readonly path: readonly Square[];
  /** True when a man ends the move on its last row. */
  readonly promotes: boolean;
}

export interface QuietMove extends MoveBase {
  readonly kind: 'quiet';
  readonly captured: readonly [];
}

export interface CaptureMove extends MoveBase {
  readonly kind: 'capture';
  /** Captured squares, ascending. Never empty. */
  readonly captured: readonly Square[];
}

export type Move = QuietMove | CaptureMove;

function sideSets(pos: Position): [own: number, opp: number, white: boolean] {
  const white = pos.turn === 'white';
  return white ? [pos.white | 0, pos.black | 0, true] : [pos.black | 0, pos.white | 0, false];
}

/** @internal Converts entry i of a MoveList into a Move. */
export function moveFromList(list: MoveList, i: number, kings: number, white: boolean): Move {
  const fromBit = list.from[i] as number;
  const toBit = list.to[i] as number;
  const from = fromBit + 1;
  const to = toBit + 1;
  const promotes =
    (kings & (1 << fromBit)) === 0 &&
    ((white ? WHITE_PROMOTION : BLACK_PROMOTION) & (1 << toBit)) !== 0;
  if (!list.captures) return { kind: 'quiet', from, to, path: [to], captured: [], promotes };
  const path: Square[] = [];
  const n = list.pathLength[i] as number;
  for (let j = 0; j < n; j++) path.push((list.path[i * MAX_PATH + j] as number) + 1);
  return {
    kind: 'capture',
    from,
    to,
    path,
    captured: squaresOf(list.captured[i] as number),
    promotes,
  };
}

const scratch = new MoveList();

/**
 * The legal moves: all maximal captures if any capture exists, otherwise the quiet moves.
 * Ordered by start square, then as generated. Duplicate capture paths are listed once.
 */
export function legalMoves(pos: Position): Move[] {
  const [own, opp, white] = sideSets(pos);
  generateMoves(own, opp, pos.kings | 0, white, scratch);
  const moves: Move[] = [];
  for (let i = 0; i < scratch.count; i++) moves.push(moveFromList(scratch, i, pos.kings, white));
  return moves.sort((a, b) => a.from - b.from);
}

/** Every capture path, without merging paths that share start, end and captured set. */
export function allCapturePaths(pos: Position): CaptureMove[] {
  const [own, opp, white] = sideSets(pos);
  generateCaptures(own, opp, pos.kings | 0, white, scratch, false);
  const moves: CaptureMove[] = [];
  for (let i = 0; i < scratch.count; i++)
    moves.push(moveFromList(scratch, i, pos.kings, white) as CaptureMove);
  return moves;
}

/**
 * The position after `move`. The move must be legal in `pos` (take it from legalMoves or
 * parseMove); this is not re-checked so that search stays fast.
 */
export function makeMove(pos: Position, move: Move): Position {
  const f = 1 << (move.from - 1);
  const t = 1 << (move.to - 1);
  let cap = 0;
  for (const c of move.captured) cap |= 1 << (c - 1);
  let kings = pos.kings & ~cap;
  if ((pos.kings & f) !== 0) kings = (kings & ~f) | t;
  else if (move.promotes) kings |= t;
  const white = pos.turn === 'white';
  const own = ((white ? pos.white : pos.black) & ~f) | t;
  const opp = (white ? pos.black : pos.white) & ~cap;
  return makePosition(white ? own : opp, white ? opp : own, kings, opposite(pos.turn));
}

/** Same move: same start, end and captured set (the path is not part of a move's identity). */
export function sameMove(a: Move, b: Move): boolean {
  if (a.from !== b.from || a.to !== b.to || a.captured.length !== b.captured.length) return false;
  return a.captured.every((c, i) => b.captured[i] === c);
}

/** Short notation: '11-15' or '15x24'. */
export function formatMove(move: Move): string {
  return `${move.from}${move.kind === 'capture' ? 'x' : '-'}${move.to}`;
}

/** Long notation with captured squares: '11-15' or '14x21[18]' (the perft/moves CLI format). */
export function formatMoveLong(move: Move): string {
  if (move.kind === 'quiet') return `${move.from}-${move.to}`;
  return `${move.from}x${move.to}[${move.captured.join(',')}]`;
}

/** Full path notation: '11-15' or '1x10x19'. */
export function formatMovePath(move: Move): string {
  if (move.kind === 'quiet') return `${move.from}-${move.to}`;
  return [move.from, ...move.path].join('x');
}
