import { toPdn, type PdnResult } from '@conveyor/draughts';
import type { GameRecord } from './game-record';
import type { ReplayedGame } from './rules';

/**
 * The game as PDN (Portable Draughts Notation, GameType 24), written by @conveyor/draughts with
 * this service's tags. `result` is the app's status result: resignations and claimed draws are
 * decided by the app, not by the board, so the writer gets them through the Result tag.
 */
export function writePdn(record: GameRecord, game: ReplayedGame, result: PdnResult): string {
  const engine = `Conveyor engine (${record.difficulty})`;
  return toPdn(game.game, {
    Event: 'Conveyor checkers',
    Site: 'Conveyor',
    Date: record.createdAt.slice(0, 10).replaceAll('-', '.'),
    Round: '-',
    White: record.humanSide === 'white' ? 'Human' : engine,
    Black: record.humanSide === 'black' ? 'Human' : engine,
    Result: result,
  });
}
