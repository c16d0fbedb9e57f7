/* eslint-disable @typescript-eslint/no-non-null-assertion -- in tests a missing value throws and fails the test, which is what we want */
import {
  agreeDraw,
  allCapturePaths,
  currentPosition,
  legalMoves,
  newGame,
  parseFen,
  parsePdn,
  playMove,
  resign,
  search,
  toFen,
  toPdn,
  type Game,
  type Position,
} from '../src/index';

function fen(text: string): Position {
  const r = parseFen(text);
  if (!r.ok) throw new Error(`bad test FEN ${text}: ${r.error.message}`);
  return r.value;
}

function play(game: Game, ...moves: string[]): Game {
  for (const m of moves) {
    const r = playMove(game, m);
    if (!r.ok) throw new Error(`${m}: ${r.error.message}`);
    game = r.value;
  }
  return game;
}

describe('game status', () => {
  it('draws on the third occurrence of a position', () => {
    const shuffle = ['1-5', '29-25', '5-1', '25-29'];
    const g = play(newGame(fen('W:WK1:BK29')), ...shuffle, '1-5', '29-25', '5-1');
    expect(g.status).toEqual({ kind: 'ongoing' });
    const done = play(g, '25-29');
    expect(done.status).toEqual({ kind: 'draw', reason: 'repetition' });
    expect(playMove(done, '1-5')).toEqual({
      ok: false,
      error: { message: 'the game is over (draw by repetition)' },
    });
  });
  it('draws after the move limit of king moves without capture or man move', () => {
    const g = play(newGame(fen('W:WK1,9:BK29'), { moveLimit: 2 }), '1-5', '29-25', '5-10');
    expect(g.quietPlies).toBe(3);
    expect(g.status.kind).toBe('ongoing');
    expect(play(g, '25-21').status).toEqual({ kind: 'draw', reason: 'move-limit' });
    expect(play(g, '25-21').quietPlies).toBe(4);
  });
  it('a man move resets the counter', () => {
    const g = play(newGame(fen('W:WK1,9:BK29')), '1-5', '29-25', '9-13');
    expect(g.quietPlies).toBe(0);
  });
  it('a side left without moves loses', () => {
    const g = play(newGame(fen('W:W22:B26')), '22x29');
    expect(g.status).toEqual({ kind: 'win', winner: 'white', reason: 'no-moves' });
    expect(newGame(fen('B:W5:B')).status).toEqual({
      kind: 'win',
      winner: 'white',
      reason: 'no-moves',
    });
  });
  it('resignation and agreement end the game', () => {
    const r = resign(newGame(), 'white');
    expect(r.ok && r.value.status).toEqual({ kind: 'win', winner: 'black', reason: 'resignation' });
    const d = agreeDraw(newGame());
    expect(d.ok && d.value.status).toEqual({ kind: 'draw', reason: 'agreement' });
    if (d.ok) expect(resign(d.value, 'black').ok).toBe(false);
  });
  it('rejects illegal moves with the legal list, and foreign Move objects', () => {
    const r = playMove(newGame(), '1-5');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/legal moves: 9-13/);
    const stranger = legalMoves(fen('W:W14:BK18,19,32'))[0]!;
    expect(playMove(newGame(), stranger).ok).toBe(false);
  });
  it('is plain data that survives structured cloning', () => {
    const g = play(newGame(), '11-15', '22-18', '15-19');
    const copy = structuredClone(g);
    expect(copy).toEqual(g);
    expect(toFen(currentPosition(play(copy, '23x14')))).toBe(
      toFen(currentPosition(play(g, '23x14'))),
    );
  });
});

describe('PDN', () => {
  function selfPlay(seed: number): Game {
    let g = newGame();
    while (g.status.kind === 'ongoing' && g.moves.length < 200) {
      const r = search(g, {
        depth: 2,
        randomize: true,
        randomMargin: 1,
        seed: seed * 1000 + g.moves.length,
      });
      g = play(
        g,
        `${r.move!.from}${r.move!.kind === 'capture' ? 'x' : '-'}${r.move!.to}${r.move!.kind === 'capture' ? `[${r.move!.captured.join(',')}]` : ''}`,
      );
    }
    return g;
  }
  it('round-trips self-play games', () => {
    for (const seed of [1, 2, 3]) {
      const g = selfPlay(seed);
      const text = toPdn(g, { Event: 'test', Round: String(seed) });
      expect(text).toMatch(/\[GameType "24"\]/);
      const back = parsePdn(text);
      if (!back.ok)
        throw new Error(
          `${back.error.message} at ${back.error.line}:${back.error.column}\n${text}`,
        );
      expect(back.value).toHaveLength(1);
      const [parsed] = back.value;
      expect(parsed!.tags['Event']).toBe('test');
      expect(parsed!.game.positions).toEqual(g.positions);
      expect(parsed!.game.status).toEqual(g.status);
    }
  });
  it('reads comments, variations, annotations, numbers, several games and a FEN start', () => {
    const text = `[Event "one"]
[GameType "24"]
1. 11-15 {a comment (with parens)} 22-18 (1... 22-19 2. 9-13) 2. 15-19! $3 23x14 ; rest of line
3. 10x19? 2-0

[Event "two"]
[FEN "B:W18:B27,K30"]
1... 27-23 2. 18-22 *`;
    const r = parsePdn(text);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value).toHaveLength(2);
    expect(r.value[0]!.result).toBe('1-0');
    expect(
      r.value[0]!.game.moves.map((m) => `${m.from}${m.kind === 'capture' ? 'x' : '-'}${m.to}`),
    ).toEqual(['11-15', '22-18', '15-19', '23x14', '10x19']);
    expect(r.value[1]!.game.moves).toHaveLength(2);
    expect(toPdn(r.value[1]!.game)).toContain('[FEN "B:W18:B27,K30"]');
    expect(toPdn(r.value[1]!.game)).toContain('1... 27-23 2. 18-22 *');
  });
  it.each([
    [
      '[Event "x"]\n1. 11-15 22-18 2. 11-16',
      2,
      19,
      /move 3 \(11-16\): '11-16' is not legal for white/,
    ],
    ['[GameType "20"]', 1, 12, /GameType 20 is not Spanish draughts/],
    ['[FEN "W:W1,2:Bq"]\n', 1, 15, /FEN tag: expected a square/],
    ['1. 11-15 {never closed', 1, 10, /never closed/],
    ['1. 11-15 hello', 1, 10, /'hello' is not a move/],
    ['[Event x]', 1, 1, /malformed tag/],
  ])('reports %j at line %i column %i', (text, line, column, message) => {
    const r = parsePdn(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.message).toMatch(message);
      expect([r.error.line, r.error.column]).toEqual([line, column]);
    }
  });
});

describe('playing Move objects', () => {
  it('keeps a real alternative path and replaces a made-up one', () => {
    const start = fen('W:WK11:B14,15,22,23');
    const paths = allCapturePaths(start).filter((m) => m.from === 11 && m.to === 11);
    expect(paths.length).toBeGreaterThanOrEqual(2);
    const second = paths[1]!;
    const played = playMove(newGame(start), second);
    expect(played.ok && played.value.moves[0]!.path).toEqual(second.path);
    const bogus = playMove(newGame(start), { ...second, path: [5, 6, 7, 11] });
    expect(
      bogus.ok &&
        allCapturePaths(start).some((p) => p.path.join() === bogus.value.moves[0]!.path.join()),
    ).toBe(true);
  });
});
