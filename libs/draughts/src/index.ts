/**
 * @conveyor/draughts: Spanish draughts rules, notation and search. Pure TypeScript, no I/O:
 * runs in Node, worker_threads and browsers. Everything exchanged is plain data.
 */
export type { Result } from './result';
export { ok, err } from './result';
export type { Square, Coords } from './squares';
export { isSquare, squareCoords, coordsToSquare } from './squares';
export { popcount, squaresOf, setOf } from './bitboard';
export type { Color, Position, Piece, Material } from './position';
export {
  initialPosition,
  pieceAt,
  samePosition,
  material,
  makePosition,
  flipPosition,
  opposite,
} from './position';
export type { FenError } from './fen';
export { parseFen, toFen } from './fen';
export type { Move, QuietMove, CaptureMove } from './move';
export {
  legalMoves,
  allCapturePaths,
  makeMove,
  sameMove,
  formatMove,
  formatMoveLong,
  formatMovePath,
} from './move';
export type { MoveError } from './notation';
export { parseMove } from './notation';
export type { PerftOptions } from './perft';
export { perft } from './perft';
export type { Game, GameStatus, DrawRules, GameError } from './game';
export {
  newGame,
  currentPosition,
  playMove,
  resign,
  agreeDraw,
  describeStatus,
  isReversible,
  DEFAULT_DRAW_RULES,
} from './game';
export type { Scorer, SyncScorer, BatchScorer, PieceCountOptions } from './scorer';
export { pieceCountScorer } from './scorer';
export type { SearchOptions, SearchResult } from './search';
export { search, searchAsync, WIN_SCORE } from './search';
export { TranspositionTable } from './table';
export type { PositionKey } from './zobrist';
export { hashPosition } from './zobrist';
export { createRng } from './rng';
export type { PdnGame, PdnError, PdnResult } from './pdn';
export { parsePdn, toPdn, SPANISH_GAME_TYPE } from './pdn';
