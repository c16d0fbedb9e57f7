/* eslint-disable @typescript-eslint/no-non-null-assertion -- in tests a missing value throws and fails the test, which is what we want */
import { legalMoves, newGame, playMove, search, type Game } from '@conveyor/draughts';
import { bestMoves, gameSeed, playSelfPlayGame, replayRecord, rootMoveScores } from '../src';

describe('root move scores', () => {
  it('match a full-size-table search of every child, along a played game', () => {
    const record = playSelfPlayGame({
      white: { label: 'd2', depth: 2 },
      black: { label: 'd2', depth: 2 },
      id: 0,
      seed: gameSeed(9, 0),
      maxPlies: 24,
    });
    const replay = replayRecord(record);
    let game: Game = newGame();
    for (const move of replay.moves) {
      const scores = rootMoveScores(game, 3);
      const pos = game.positions.at(-1)!;
      expect(scores.map((s) => s.move)).toEqual(legalMoves(pos));
      for (const s of scores) {
        const child = playMove(game, s.move);
        if (!child.ok) throw new Error(child.error.message);
        if (child.value.status.kind !== 'ongoing') continue;
        expect(s.score).toBe(-search(child.value, { depth: 2 }).score + 0);
      }
      const best = bestMoves(scores);
      expect(best.every((b) => b.score === Math.max(...scores.map((s) => s.score)))).toBe(true);
      const next = playMove(game, move);
      if (!next.ok) throw new Error(next.error.message);
      game = next.value;
    }
  });
});
