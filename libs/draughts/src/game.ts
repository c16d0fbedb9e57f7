/**
 * A game as plain data (it can be posted between threads as is): the positions, the moves and a
 * status. Functions return new Game objects; nothing is mutated.
 *
 * Draw rules (defaults and why):
 * - Threefold repetition: the same position with the same side to move occurring 3 times
 *   (the federation rule; also what players expect from other draughts variants).
 * - Move limit: 25 moves by each side (50 plies) without a capture or a man move. The
 *   Spanish rules handle long king endings through specific ending counts; a single
 *   no-progress counter is simpler to enforce in self-play and servers, and 25 moves each is
 *   the figure FMJD uses for king-only play, long enough for any forced king-ending win on
 *   8×8 that search can find. Configurable via DrawRules.
 */
import { allCapturePaths, legalMoves, makeMove, sameMove, type Move } from './move';
import { parseMove } from './notation';
import { initialPosition, opposite, samePosition, type Color, type Position } from './position';
import { err, ok, type Result } from './result';

export type GameStatus =
  | { readonly kind: 'ongoing' }
  | { readonly kind: 'win'; readonly winner: Color; readonly reason: 'no-moves' | 'resignation' }
  | { readonly kind: 'draw'; readonly reason: 'repetition' | 'move-limit' | 'agreement' };

export interface DrawRules {
  /** Occurrences of one position that draw the game (default 3). */
  readonly repetitions: number;
  /** Moves per side without a capture or man move that draw the game (default 25, i.e. 50 plies). */
  readonly moveLimit: number;
}

export const DEFAULT_DRAW_RULES: DrawRules = { repetitions: 3, moveLimit: 25 };

export interface Game {
  readonly rules: DrawRules;
  /** positions[0] is the start; positions[i + 1] follows moves[i]; the last is the current one. */
  readonly positions: readonly Position[];
  readonly moves: readonly Move[];
  /** Plies since the last capture or man move (the move-limit counter). */
  readonly quietPlies: number;
  readonly status: GameStatus;
}

export interface GameError {
  readonly message: string;
}

export function newGame(start: Position = initialPosition(), rules: Partial<DrawRules> = {}): Game {
  const full = { ...DEFAULT_DRAW_RULES, ...rules };
  const status: GameStatus =
    legalMoves(start).length === 0
      ? { kind: 'win', winner: opposite(start.turn), reason: 'no-moves' }
      : { kind: 'ongoing' };
  return { rules: full, positions: [start], moves: [], quietPlies: 0, status };
}

export function currentPosition(game: Game): Position {
  return game.positions[game.positions.length - 1] as Position;
}

/** True when the move keeps the game reversible: a king moving without capturing. */
export function isReversible(before: Position, move: Move): boolean {
  return move.kind === 'quiet' && (before.kings & (1 << (move.from - 1))) !== 0;
}

/** Plays a move (a Move from legalMoves, or text such as '11-15' or '15x24'). */
export function playMove(game: Game, move: Move | string): Result<Game, GameError> {
  if (game.status.kind !== 'ongoing')
    return err({ message: `the game is over (${describeStatus(game.status)})` });
  const before = currentPosition(game);
  let chosen: Move;
  if (typeof move === 'string') {
    const parsed = parseMove(before, move);
    if (!parsed.ok) return err({ message: parsed.error.message });
    chosen = parsed.value;
  } else {
    const legal = legalMoves(before).find((m) => sameMove(m, move));
    if (legal === undefined)
      return err({
        message: `move ${move.from}${move.kind === 'capture' ? 'x' : '-'}${move.to} is not legal in this position`,
      });
    // Keep the caller's path when it is a real route for this capture (it may differ from the
    // one legalMoves reports for the same move); otherwise use the generator's.
    const route =
      legal.kind === 'capture'
        ? allCapturePaths(before).find(
            (p) =>
              sameMove(p, legal) &&
              p.path.length === move.path.length &&
              p.path.every((sq, i) => sq === move.path[i]),
          )
        : undefined;
    chosen = route ?? legal;
  }
  const after = makeMove(before, chosen);
  const positions = [...game.positions, after];
  const quietPlies = isReversible(before, chosen) ? game.quietPlies + 1 : 0;
  return ok({
    rules: game.rules,
    positions,
    moves: [...game.moves, chosen],
    quietPlies,
    status: statusAfter(positions, quietPlies, game.rules),
  });
}

function statusAfter(
  positions: readonly Position[],
  quietPlies: number,
  rules: DrawRules,
): GameStatus {
  const now = positions[positions.length - 1] as Position;
  if (legalMoves(now).length === 0)
    return { kind: 'win', winner: opposite(now.turn), reason: 'no-moves' };
  // Only positions since the last irreversible move can repeat the current one.
  let seen = 0;
  for (let i = positions.length - 1; i >= positions.length - 1 - quietPlies && i >= 0; i--) {
    if (samePosition(positions[i] as Position, now)) seen++;
  }
  if (seen >= rules.repetitions) return { kind: 'draw', reason: 'repetition' };
  if (quietPlies >= 2 * rules.moveLimit) return { kind: 'draw', reason: 'move-limit' };
  return { kind: 'ongoing' };
}

export function resign(game: Game, loser: Color): Result<Game, GameError> {
  if (game.status.kind !== 'ongoing')
    return err({ message: `the game is over (${describeStatus(game.status)})` });
  return ok({ ...game, status: { kind: 'win', winner: opposite(loser), reason: 'resignation' } });
}

export function agreeDraw(game: Game): Result<Game, GameError> {
  if (game.status.kind !== 'ongoing')
    return err({ message: `the game is over (${describeStatus(game.status)})` });
  return ok({ ...game, status: { kind: 'draw', reason: 'agreement' } });
}

export function describeStatus(status: GameStatus): string {
  switch (status.kind) {
    case 'ongoing':
      return 'ongoing';
    case 'win':
      return `${status.winner} wins by ${status.reason === 'no-moves' ? 'leaving the opponent without moves' : 'resignation'}`;
    case 'draw':
      return `draw by ${status.reason}`;
  }
}
