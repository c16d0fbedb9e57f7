/**
 * The self-play game log: one JSON object per line (JSONL), one line per game.
 *
 * Moves are stored as indices into `legalMoves(position)` of @conveyor/draughts (sorted by start
 * square, one entry per (from, to, captured set)), two hex digits per ply. That is ~160 bytes
 * per game instead of ~3 KB for per-ply FENs, and every per-ply position is recovered exactly
 * by replaying (`replayRecord`); `final` (the FEN after the last ply) checks the replay, so a
 * log written by a different move ordering is rejected instead of silently misread.
 *
 *   {"v":1,"id":17,"seed":912,"white":"d4","black":"d4","moves":"0a03…","result":"1-0",
 *    "reason":"no-moves","plies":83,"final":"B:WK3,…:B…"}
 *
 * `start` (a FEN) is present only when the game did not start from the initial position.
 */
import {
  formatMove,
  initialPosition,
  legalMoves,
  makeMove,
  newGame,
  parseFen,
  playMove,
  toFen,
  toPdn,
  type Game,
  type Move,
  type Position,
} from '@conveyor/draughts';

export type GameResult = '1-0' | '0-1' | '1/2-1/2';
/** Why the game ended: the rules' reasons, plus `ply-cap` (adjudicated draw after maxPlies). */
export type EndReason = 'no-moves' | 'repetition' | 'move-limit' | 'ply-cap';

export interface GameRecord {
  readonly v: 1;
  readonly id: number;
  readonly seed: number;
  /** Labels of the engine settings that played each side, e.g. "d4". */
  readonly white: string;
  readonly black: string;
  readonly start?: string;
  readonly moves: string;
  readonly result: GameResult;
  readonly reason: EndReason;
  readonly plies: number;
  readonly final: string;
}

/** A replayed game: positions[i] is before ply i (positions.length = plies + 1). */
export interface ReplayedGame {
  readonly record: GameRecord;
  readonly positions: readonly Position[];
  readonly moves: readonly Move[];
}

export function encodeMoveIndex(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 255)
    throw new RangeError(`move index ${index} does not fit the log's two hex digits`);
  return index.toString(16).padStart(2, '0');
}

/** The move's index in legalMoves(pos), or an error naming the position if it is not legal there. */
export function moveIndex(pos: Position, move: Move): number {
  const moves = legalMoves(pos);
  const i = moves.findIndex(
    (m) => m.from === move.from && m.to === move.to && m.captured.join() === move.captured.join(),
  );
  if (i < 0) throw new Error(`move ${formatMove(move)} is not legal in ${toFen(pos)}`);
  return i;
}

export function formatRecord(record: GameRecord): string {
  return JSON.stringify(record);
}

export type ParseRecordResult = { ok: true; record: GameRecord } | { ok: false; error: string };

/** Parses one log line; a truncated or foreign line is an error, not an exception (resume skips it). */
export function parseRecord(line: string): ParseRecordResult {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return {
      ok: false,
      error: `not JSON (a line cut short by an interrupted run?): ${line.slice(0, 60)}`,
    };
  }
  const r = raw as Partial<GameRecord>;
  if (r === null || typeof r !== 'object' || r.v !== 1)
    return { ok: false, error: 'not a version-1 game record (expected "v":1)' };
  if (
    typeof r.id !== 'number' ||
    typeof r.moves !== 'string' ||
    r.moves.length % 2 !== 0 ||
    typeof r.final !== 'string'
  )
    return {
      ok: false,
      error: `game record ${String(r.id)} lacks id, moves (even-length hex) or final`,
    };
  if (r.result !== '1-0' && r.result !== '0-1' && r.result !== '1/2-1/2')
    return { ok: false, error: `game ${r.id}: bad result ${String(r.result)}` };
  return { ok: true, record: r as GameRecord };
}

/** Replays a record into its per-ply positions and moves; throws if the log does not replay to `final`. */
export function replayRecord(record: GameRecord): ReplayedGame {
  let pos = startOf(record);
  const positions: Position[] = [pos];
  const moves: Move[] = [];
  for (let i = 0; i < record.moves.length; i += 2) {
    const index = parseInt(record.moves.slice(i, i + 2), 16);
    const move = legalMoves(pos)[index];
    if (move === undefined)
      throw new Error(
        `game ${record.id}, ply ${i / 2}: move index ${index} is out of range in ${toFen(pos)}`,
      );
    pos = makeMove(pos, move);
    moves.push(move);
    positions.push(pos);
  }
  if (toFen(pos) !== record.final)
    throw new Error(
      `game ${record.id} replays to ${toFen(pos)}, but the log says ${record.final}: written with another move ordering?`,
    );
  return { record, positions, moves };
}

function startOf(record: GameRecord): Position {
  if (record.start === undefined) return initialPosition();
  const parsed = parseFen(record.start);
  if (!parsed.ok) throw new Error(`game ${record.id}: bad start FEN: ${parsed.error.message}`);
  return parsed.value;
}

/** PDN export of a logged game (GameType 24), tags carrying the engines, seed and end reason. */
export function recordToPdn(record: GameRecord): string {
  const replayed = replayRecord(record);
  let game: Game = newGame(replayed.positions[0]);
  for (const m of replayed.moves) {
    const next = playMove(game, m);
    // A ply-capped or move-limit game stops being "ongoing" at its last ply, never earlier.
    if (!next.ok) throw new Error(`game ${record.id}: ${next.error.message}`);
    game = next.value;
  }
  return toPdn(game, {
    Event: 'Conveyor self-play',
    Round: String(record.id),
    White: record.white,
    Black: record.black,
    Result: record.result,
    Termination: record.reason,
    Seed: String(record.seed),
  });
}

/** +1 white won, -1 black won, 0 draw. */
export function whiteOutcome(result: GameResult): 1 | 0 | -1 {
  return result === '1-0' ? 1 : result === '0-1' ? -1 : 0;
}
