/**
 * Reading moves written by people or other programs: '11-15', '15x24', '15x24[19]' (captured
 * squares, any order), and full paths '1x10x19'. A move is matched against the legal moves of
 * the position, so the result is always legal.
 */
import { allCapturePaths, formatMoveLong, legalMoves, sameMove, type Move } from './move';
import type { Position } from './position';
import { err, ok, type Result } from './result';

export interface MoveError {
  readonly message: string;
  /** 1-based column in the move text, when the problem is in the text itself. */
  readonly column?: number;
}

const SYNTAX =
  /^\s*(\d{1,2})\s*(?:([-x:])\s*(\d{1,2})((?:\s*x\s*\d{1,2})*))\s*(?:\[\s*([\d\s,]*)\])?\s*$/i;

export function parseMove(pos: Position, text: string): Result<Move, MoveError> {
  const m = SYNTAX.exec(text);
  if (m === null) {
    return err({
      message: `'${text}' is not a move: expected '11-15', '15x24', '15x24[19]' or '1x10x19'`,
      column: 1,
    });
  }
  const from = Number(m[1]);
  const sep = (m[2] as string).toLowerCase();
  const squares = [
    from,
    Number(m[3]),
    ...(m[4] ?? '')
      .split(/x/i)
      .slice(1)
      .map((s) => Number(s.trim())),
  ];
  for (const sq of squares) {
    if (sq < 1 || sq > 32)
      return err({
        message: `square ${sq} in '${text}' is off the board (squares are 1-32)`,
        column: text.indexOf(String(sq)) + 1,
      });
  }
  const to = squares[squares.length - 1] as number;
  const capturedText = m[5];
  const captured =
    capturedText === undefined
      ? undefined
      : capturedText
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
          .map(Number)
          .sort((a, b) => a - b);
  const isCapture = sep !== '-';
  const legal = legalMoves(pos);
  const side = pos.turn;

  if (!isCapture) {
    if (squares.length > 2 || captured !== undefined)
      return err({ message: `'${text}' mixes a quiet move '-' with capture detail` });
    const found = legal.find((mv) => mv.from === from && mv.to === to);
    if (found === undefined) return err({ message: noSuchMove(text, side, legal) });
    if (found.kind === 'capture')
      return err({ message: `${from}-${to} is a capture here; write ${from}x${to}` });
    return ok(found);
  }

  let candidates: Move[] = legal.filter(
    (mv) => mv.kind === 'capture' && mv.from === from && mv.to === to,
  );
  if (candidates.length === 0) {
    const quiet = legal.find((mv) => mv.from === from && mv.to === to);
    if (quiet !== undefined)
      return err({ message: `${from}x${to} is not a capture here; write ${from}-${to}` });
    return err({ message: noSuchMove(text, side, legal) });
  }
  if (captured !== undefined) {
    candidates = candidates.filter(
      (mv) =>
        mv.captured.length === captured.length && mv.captured.every((c, i) => c === captured[i]),
    );
    if (candidates.length === 0)
      return err({ message: `no capture ${from}x${to} takes exactly [${captured.join(',')}]` });
  }
  if (squares.length > 2) {
    const path = squares.slice(1);
    const byPath = allCapturePaths(pos).find(
      (mv) =>
        mv.from === from &&
        mv.path.length === path.length &&
        mv.path.every((s, i) => s === path[i]),
    );
    if (byPath === undefined || !candidates.some((mv) => sameMove(mv, byPath))) {
      return err({ message: `no legal capture follows the path ${squares.join('x')}` });
    }
    return ok(byPath);
  }
  if (candidates.length > 1) {
    return err({
      message: `${from}x${to} is ambiguous: it could be ${candidates.map(formatMoveLong).join(' or ')}; add the captured squares`,
    });
  }
  return ok(candidates[0] as Move);
}

function noSuchMove(text: string, side: string, legal: readonly Move[]): string {
  const list = legal.length === 0 ? 'none' : legal.map(formatMoveLong).join(', ');
  return `'${text.trim()}' is not legal for ${side}; legal moves: ${list}`;
}
