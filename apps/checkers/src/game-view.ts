/**
 * The JSON shape the HTTP API returns for a game. Shared with the browser app (type-only import),
 * so the two can't drift apart.
 */
import type { CheckersDifficulty } from '@conveyor/contracts';
import type { EngineMoveStats, Side } from './game-record';

export type { Side } from './game-record';

export interface PieceView {
  readonly square: number;
  readonly color: Side;
  readonly king: boolean;
}

export interface LegalMoveView {
  /** Full-path PDN notation, accepted as is by POST /moves. */
  readonly notation: string;
  readonly from: number;
  readonly to: number;
  /** Landing squares in order; the last is `to`. */
  readonly path: readonly number[];
  readonly captured: readonly number[];
}

export interface PlayedMoveView {
  /** 1-based half-move number. */
  readonly ply: number;
  readonly side: Side;
  readonly by: 'human' | 'engine';
  readonly notation: string;
  /** For animation: where the piece started and every landing square. */
  readonly from: number;
  readonly to: number;
  readonly path: readonly number[];
  readonly captured: readonly number[];
  readonly stats?: EngineMoveStats;
}

export type EndReason = 'no-moves' | 'repetition' | 'move-limit' | 'resignation' | 'draw-claim';

export type StatusView =
  | { readonly state: 'ongoing'; readonly turn: Side; readonly awaiting: 'human' | 'engine' }
  | {
      readonly state: 'finished';
      readonly result: '1-0' | '0-1' | '1/2-1/2';
      readonly winner: Side | null;
      readonly reason: EndReason;
      /** One sentence for people, e.g. "Black has no legal move: White wins." */
      readonly description: string;
    };

export interface GameView {
  readonly id: string;
  readonly humanSide: Side;
  readonly difficulty: CheckersDifficulty;
  readonly revision: number;
  readonly fen: string;
  readonly board: readonly PieceView[];
  readonly moves: readonly PlayedMoveView[];
  /** The side to move's legal moves; empty once the game is over. */
  readonly legalMoves: readonly LegalMoveView[];
  readonly status: StatusView;
  /** Whether the human may claim a draw now, and under which rule. */
  readonly drawClaim:
    { readonly available: true; readonly rule: string } | { readonly available: false };
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface ApiErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly legalMoves?: readonly LegalMoveView[];
    readonly issues?: readonly { readonly path: string; readonly message: string }[];
  };
}
