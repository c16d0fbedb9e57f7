import { newGame, parseFen, playMove, type Game } from '@conveyor/draughts';
import { describeGame, matchMove, replayGame } from './rules';

const gameFrom = (fen: string): Game => {
  const parsed = parseFen(fen);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return newGame(parsed.value);
};

const play = (game: Game, ...moves: string[]): Game =>
  moves.reduce((g, m) => {
    const next = playMove(g, m);
    if (!next.ok) throw new Error(`${m}: ${next.error.message}`);
    return next.value;
  }, game);

describe('replayGame', () => {
  it('replays stored moves into board, turn, history and move views', () => {
    const game = replayGame(['11-15', '22-19']);
    expect(game.turn).toBe('white');
    expect(game.fenHistory).toHaveLength(3);
    expect(game.plays.map((p) => [p.ply, p.side, p.notation])).toEqual([
      [1, 'white', '11-15'],
      [2, 'black', '22-19'],
    ]);
    // 15 and 19 are now diagonal neighbours with 22 empty behind: White must capture.
    expect(game.legalMoves.map((m) => m.notation)).toEqual(['15x22']);
    expect(game.legalMoves[0]?.captured).toEqual([19]);
  });

  it('refuses a stored move that does not replay (a corrupt row)', () => {
    expect(() => replayGame(['11-15', '11-15'])).toThrow(/stored move 2 \(11-15\) does not replay/);
  });
});

describe('matchMove', () => {
  it('normalises accepted notations to the full path', () => {
    const game = replayGame(['11-15', '22-19']);
    expect(matchMove(game, '15x22')).toEqual({ ok: true, notation: '15x22' });
    expect(matchMove(game, '15x22[19]')).toEqual({ ok: true, notation: '15x22' });
  });

  it('explains why a move is refused', () => {
    const game = replayGame(['11-15', '22-19']);
    const refused = matchMove(game, '9-13');
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.message).toMatch(/15x22/);
  });

  it('writes multi-captures with every landing square', () => {
    const game = describeGame(gameFrom('W:W1:B5,13'));
    expect(game.legalMoves).toEqual([
      { notation: '1x10x17', from: 1, to: 17, path: [10, 17], captured: [5, 13] },
    ]);
  });
});

describe('game end and draw claims', () => {
  it('ends the game when the side to move has no move', () => {
    const game = describeGame(gameFrom('B:W1,2:B'));
    expect(game.boardStatus).toMatchObject({
      state: 'finished',
      winner: 'white',
      reason: 'no-moves',
    });
    expect(game.legalMoves).toEqual([]);
  });

  it('says a side lost all its pieces rather than that it has no legal move', () => {
    expect(describeGame(gameFrom('W:W:BK1,5')).boardStatus).toEqual({
      state: 'finished',
      winner: 'black',
      reason: 'no-moves',
      description: 'White has no pieces left: Black wins.',
    });
    expect(describeGame(gameFrom('B:W1,2:B')).boardStatus).toMatchObject({
      description: 'Black has no pieces left: White wins.',
    });
    // Pieces on the board but all blocked: that is "no legal move".
    expect(describeGame(gameFrom('W:W1:B5,10')).boardStatus).toMatchObject({
      description: 'White has no legal move: Black wins.',
    });
  });

  it('allows a claim with equal kings only, not with men on the board', () => {
    expect(describeGame(gameFrom('W:WK1:BK32')).drawClaim).toEqual({
      available: true,
      rule: 'equal kings only',
    });
    expect(describeGame(gameFrom('W:WK1,5:BK32')).drawClaim.available).toBe(false);
    expect(describeGame(newGame()).drawClaim.available).toBe(false);
  });

  it('allows a claim once the position occurred twice, and draws on the third time', () => {
    // Kings shuffle back and forth (the men keep it from being a kings-only ending).
    const start = gameFrom('W:WK4,9:BK29,24');
    expect(describeGame(start).drawClaim.available).toBe(false);
    const twice = play(start, '4-8', '29-25', '8-4', '25-29');
    expect(describeGame(twice).drawClaim).toEqual({ available: true, rule: 'position repeated' });
    const thrice = play(twice, '4-8', '29-25', '8-4', '25-29');
    expect(describeGame(thrice).boardStatus).toMatchObject({
      state: 'finished',
      winner: null,
      reason: 'repetition',
    });
  });
});
