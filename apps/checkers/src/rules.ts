import {
  currentPosition,
  formatMovePath,
  legalMoves,
  material,
  newGame,
  pieceAt,
  playMove,
  samePosition,
  toFen,
  type Game,
  type Move,
  type Position,
} from '@conveyor/draughts';
import type { EndReason, LegalMoveView, PieceView, PlayedMoveView, Side } from './game-view';

/**
 * The app's view of the rules, built on @conveyor/draughts: replays stored moves into everything
 * the API shows (board, legal moves, status) and checks move text against the legal moves.
 */
export type BoardStatus =
  | { readonly state: 'ongoing' }
  | {
      readonly state: 'finished';
      readonly winner: Side | null;
      readonly reason: Extract<EndReason, 'no-moves' | 'repetition' | 'move-limit'>;
      readonly description: string;
    };

export type DrawClaim =
  | { readonly available: true; readonly rule: string }
  | { readonly available: false; readonly why: string };

export interface ReplayedGame {
  readonly game: Game;
  readonly fen: string;
  readonly turn: Side;
  readonly board: readonly PieceView[];
  readonly legalMoves: readonly LegalMoveView[];
  readonly plays: readonly Omit<PlayedMoveView, 'by' | 'stats'>[];
  /** FEN of every position from the start to the current one (inclusive). */
  readonly fenHistory: readonly string[];
  readonly boardStatus: BoardStatus;
  readonly drawClaim: DrawClaim;
}

/** Replays stored moves from the initial position. A stored move that is illegal means a corrupt row. */
export function replayGame(notations: readonly string[]): ReplayedGame {
  let game = newGame();
  for (const [i, notation] of notations.entries()) {
    const next = playMove(game, notation);
    if (!next.ok)
      throw new Error(`stored move ${i + 1} (${notation}) does not replay: ${next.error.message}`);
    game = next.value;
  }
  return describeGame(game);
}

export type MoveMatch =
  | { readonly ok: true; readonly notation: string }
  | { readonly ok: false; readonly message: string };

/** Finds the legal move meant by `text` ('11-15', '15x24', '1x10x19', '15x24[19]'). */
export function matchMove(replayed: ReplayedGame, text: string): MoveMatch {
  const next = playMove(replayed.game, text);
  if (!next.ok) return { ok: false, message: next.error.message };
  const played = next.value.moves[next.value.moves.length - 1] as Move;
  return { ok: true, notation: formatMovePath(played) };
}

/** Everything the API shows about a game (exported for tests that start from other positions). */
export function describeGame(game: Game): ReplayedGame {
  const position = currentPosition(game);
  const ongoing = game.status.kind === 'ongoing';
  return {
    game,
    fen: toFen(position),
    turn: position.turn,
    board: boardOf(position),
    legalMoves: ongoing ? legalMoves(position).map(moveView) : [],
    plays: game.moves.map((move, i) => ({
      ply: i + 1,
      side: (game.positions[i] as Position).turn,
      ...moveView(move),
    })),
    fenHistory: game.positions.map(toFen),
    boardStatus: boardStatusOf(game),
    drawClaim: drawClaimOf(game),
  };
}

function moveView(move: Move): LegalMoveView {
  return {
    notation: formatMovePath(move),
    from: move.from,
    to: move.to,
    path: [...move.path],
    captured: [...move.captured],
  };
}

function boardOf(position: Position): PieceView[] {
  const pieces: PieceView[] = [];
  for (let square = 1; square <= 32; square++) {
    const piece = pieceAt(position, square);
    if (piece) pieces.push({ square, color: piece.color, king: piece.king });
  }
  return pieces;
}

const title = (side: Side) => side.charAt(0).toUpperCase() + side.slice(1);

function boardStatusOf(game: Game): BoardStatus {
  const status = game.status;
  switch (status.kind) {
    case 'ongoing':
      return { state: 'ongoing' };
    case 'win': {
      // Resignation is recorded by the app (GameRecord.termination), never in the replayed game.
      const loser = status.winner === 'white' ? 'black' : 'white';
      // Both are "no legal move" by the rules; a player whose last piece was taken reads it so.
      const hasPieces = boardOf(currentPosition(game)).some((p) => p.color === loser);
      return {
        state: 'finished',
        winner: status.winner,
        reason: 'no-moves',
        description: hasPieces
          ? `${title(loser)} has no legal move: ${title(status.winner)} wins.`
          : `${title(loser)} has no pieces left: ${title(status.winner)} wins.`,
      };
    }
    case 'draw':
      return status.reason === 'repetition'
        ? {
            state: 'finished',
            winner: null,
            reason: 'repetition',
            description: 'The same position occurred three times: draw.',
          }
        : {
            state: 'finished',
            winner: null,
            reason: 'move-limit',
            description: `${game.rules.moveLimit} moves each without a capture or a man moving: draw.`,
          };
  }
}

/**
 * When the human may claim a draw (repetition and the move limit end the game by themselves):
 * - the current position has occurred twice already (one more repetition would draw anyway), or
 * - only kings are left and both sides have the same number of them (a dead-drawn ending
 *   for any engine depth this service runs, so playing on just burns the move limit).
 */
function drawClaimOf(game: Game): DrawClaim {
  const now = currentPosition(game);
  const recent = game.positions.slice(Math.max(0, game.positions.length - 1 - game.quietPlies));
  const occurrences = recent.filter((p) => samePosition(p, now)).length;
  if (occurrences >= 2) return { available: true, rule: 'position repeated' };
  const m = material(now);
  if (m.whiteMen === 0 && m.blackMen === 0 && m.whiteKings === m.blackKings) {
    return { available: true, rule: 'equal kings only' };
  }
  return {
    available: false,
    why: 'a draw may be claimed only when the position has occurred twice or when each side has only kings, as many as the other',
  };
}
