import type { LegalMoveView } from './game-view';

/**
 * What can go wrong with a game request, as data the HTTP layer maps to status codes. Each
 * message says what was wrong and what to do instead.
 */
export type GameErrorCode =
  | 'game-not-found' // 404
  | 'illegal-move' // 422
  | 'not-your-turn' // 409
  | 'game-over' // 409
  | 'nothing-to-undo' // 409
  | 'draw-not-claimable' // 409
  | 'stale-revision' // 409
  | 'engine-timeout' // 504
  | 'engine-busy' // 503
  | 'engine-failed'; // 502

export class GameError extends Error {
  override readonly name = 'GameError';
  constructor(
    readonly code: GameErrorCode,
    message: string,
    readonly legalMoves?: readonly LegalMoveView[],
  ) {
    super(message);
  }
}
