import request from 'supertest';
import type { GameView, LegalMoveView } from '../src/game-view';
import type { RunningCheckers } from '../src/main';
import { formatMovePath, newGame, playMove, search, type Game } from '@conveyor/draughts';
import type { MoveRecord } from '../src/game-record';
import { openDatabase } from '../src/persistence/database';
import { GameStore } from '../src/persistence/game-store';
import { describeGame } from '../src/rules';
import {
  createTestStorage,
  startTestServer,
  testConfig,
  type StorageKind,
  type TestStorage,
} from './harness';

/** Moves of a seeded self-play game up to the first position where a draw may be claimed. */
function findClaimableLine(): string[] {
  for (let seed = 1; seed <= 40; seed++) {
    let game: Game = newGame();
    const moves: string[] = [];
    while (game.status.kind === 'ongoing' && moves.length < 300) {
      if (describeGame(game).drawClaim.available) return moves;
      const { move } = search(game, {
        depth: 2,
        randomize: true,
        randomMargin: 0.5,
        seed: seed * 7919 + moves.length,
      });
      if (!move) break;
      const next = playMove(game, move);
      if (!next.ok) throw new Error(next.error.message);
      game = next.value;
      moves.push(formatMovePath(move));
    }
  }
  throw new Error('no self-play game reached a claimable draw');
}

/** The HTTP API against a real engine pool and a real database, once per storage backend. */
describe.each<StorageKind>(['sqlite', 'postgres'])('checkers API on %s', (kind) => {
  let storage: TestStorage;
  let server: RunningCheckers;
  const api = () => request(server.url);

  beforeAll(async () => {
    storage = createTestStorage(kind);
    server = await startTestServer(storage.env);
  });
  afterAll(async () => {
    await server?.close();
    await storage?.dispose();
  });

  const newGame = async (
    body: object = { side: 'white', difficulty: 'easy' },
  ): Promise<GameView> => {
    const res = await api().post('/api/games').send(body).expect(201);
    return res.body as GameView;
  };
  const firstMove = (game: GameView): LegalMoveView => {
    const move = game.legalMoves[0];
    if (!move) throw new Error(`no legal move in ${game.fen}`);
    return move;
  };

  describe('POST /api/games', () => {
    it('creates a game in the initial position with White to move', async () => {
      const game = await newGame({ side: 'white', difficulty: 'medium' });
      expect(game.fen).toBe('W:W1,2,3,4,5,6,7,8,9,10,11,12:B21,22,23,24,25,26,27,28,29,30,31,32');
      expect(game.board).toHaveLength(24);
      expect(game.status).toEqual({ state: 'ongoing', turn: 'white', awaiting: 'human' });
      expect(game.legalMoves.map((m) => m.notation)).toEqual(
        expect.arrayContaining(['9-13', '10-13', '10-14', '11-14', '11-15', '12-15', '12-16']),
      );
      expect(game.legalMoves).toHaveLength(7);
      expect(game.revision).toBe(1);
    });

    it('lets the human play Black, the engine then being to move', async () => {
      const game = await newGame({ side: 'black', difficulty: 'easy' });
      expect(game.status).toEqual({ state: 'ongoing', turn: 'white', awaiting: 'engine' });
    });

    it('rejects an unknown side or difficulty naming the field', async () => {
      const res = await api()
        .post('/api/games')
        .send({ side: 'red', difficulty: 'insane' })
        .expect(400);
      expect(res.body.error.code).toBe('bad-request');
      const paths = (res.body.error.issues as { path: string }[]).map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['body.side', 'body.difficulty']));
    });

    it('rejects unknown fields and non-object bodies', async () => {
      const extra = await api()
        .post('/api/games')
        .send({ side: 'white', colour: 'white' })
        .expect(400);
      expect(extra.body.error.message).toContain('colour');
      await api()
        .post('/api/games')
        .set('content-type', 'application/json')
        .send('[1,2]')
        .expect(400);
    });

    it('refuses bodies that are not JSON with 415, so cross-site "simple" POSTs cannot create games or play moves', async () => {
      const games = async () =>
        ((await api().get('/debug/vars').expect(200)).body as { games: { stored: number } }).games
          .stored;
      const before = await games();
      for (const type of [
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data',
      ]) {
        const res = await api()
          .post('/api/games')
          .set('content-type', type)
          .send('{"side":"white","difficulty":"easy"}')
          .expect(415);
        expect(res.body.error).toMatchObject({
          code: 'unsupported-media-type',
          message: expect.stringContaining('send content-type: application/json'),
        });
      }
      const game = await newGame();
      const move = game.legalMoves[0]?.notation ?? '';
      await api()
        .post(`/api/games/${game.id}/moves`)
        .set('content-type', 'text/plain')
        .send(JSON.stringify({ move }))
        .expect(415);
      const after = await api().get(`/api/games/${game.id}`).expect(200);
      expect(after.body.moves).toEqual([]);
      expect(await games()).toBe(before + 1);
    });

    it('says "expected a JSON object" for null, a string or an array', async () => {
      for (const body of ['null', '"hello"', '[1,2]', '42']) {
        const res = await api()
          .post('/api/games')
          .set('content-type', 'application/json')
          .send(body)
          .expect(400);
        expect(res.body.error).toMatchObject({
          code: 'not-an-object',
          message: expect.stringContaining('expected a JSON object'),
        });
      }
    });

    it('answers an empty body sent as JSON with a body error (400), and takes a POST without any body as {}', async () => {
      const game = await newGame();
      const empty = await api()
        .post(`/api/games/${game.id}/engine-move`)
        .set('content-type', 'application/json')
        .expect(400);
      expect(empty.body.error).toMatchObject({
        code: 'empty-body',
        message: expect.stringContaining('send a JSON object'),
      });
      // No body and no content type: an action without arguments (not a game over → 409).
      await api().post(`/api/games/${game.id}/draw-claim`).expect(409);
    });

    it('answers malformed JSON with 400', async () => {
      const res = await api()
        .post('/api/games')
        .set('content-type', 'application/json')
        .send('{"side": "white"')
        .expect(400);
      expect(res.body.error.code).toBe('malformed-json');
    });

    it('answers an oversized body with 413', async () => {
      const res = await api()
        .post('/api/games')
        .set('content-type', 'application/json')
        .send(JSON.stringify({ side: 'white', padding: 'x'.repeat(10_000) }))
        .expect(413);
      expect(res.body.error.code).toBe('body-too-large');
    });
  });

  describe('GET /api/games/:id', () => {
    it('returns a stored game', async () => {
      const game = await newGame();
      const res = await api().get(`/api/games/${game.id}`).expect(200);
      expect(res.body).toEqual(game);
    });

    it('answers an unknown game with 404 and a malformed id with 400', async () => {
      const missing = await api()
        .get('/api/games/5b0e7c52-9a8f-4f3a-8d55-0e0e0e0e0e0e')
        .expect(404);
      expect(missing.body.error.code).toBe('game-not-found');
      const bad = await api().get('/api/games/not-a-uuid').expect(400);
      expect(bad.body.error.issues[0].path).toBe('id');
    });
  });

  describe('POST /api/games/:id/moves', () => {
    it('plays a legal move and hands the turn to the engine', async () => {
      const game = await newGame();
      const res = await api()
        .post(`/api/games/${game.id}/moves`)
        .send({ move: '11-15', revision: 1 })
        .expect(200);
      const after = res.body as GameView;
      expect(after.moves).toEqual([
        {
          ply: 1,
          side: 'white',
          by: 'human',
          notation: '11-15',
          from: 11,
          to: 15,
          path: [15],
          captured: [],
        },
      ]);
      expect(after.status).toEqual({ state: 'ongoing', turn: 'black', awaiting: 'engine' });
      expect(after.revision).toBe(2);
      expect(after.fen.startsWith('B:')).toBe(true);
    });

    it('answers an illegal move with 422 and the legal moves', async () => {
      const game = await newGame();
      const res = await api()
        .post(`/api/games/${game.id}/moves`)
        .send({ move: '11-16' })
        .expect(422);
      expect(res.body.error.code).toBe('illegal-move');
      expect(res.body.error.legalMoves).toEqual(game.legalMoves);
      const garbage = await api()
        .post(`/api/games/${game.id}/moves`)
        .send({ move: 'e2-e4' })
        .expect(422);
      expect(garbage.body.error.message).toContain('not a move');
    });

    it('refuses a move when it is the engine’s turn (409)', async () => {
      const game = await newGame();
      await api().post(`/api/games/${game.id}/moves`).send({ move: '11-15' }).expect(200);
      const res = await api()
        .post(`/api/games/${game.id}/moves`)
        .send({ move: '22-18' })
        .expect(409);
      expect(res.body.error.code).toBe('not-your-turn');
      expect(res.body.error.message).toContain('engine-move');
    });

    it('refuses a move made against an old revision (409)', async () => {
      const game = await newGame();
      const res = await api()
        .post(`/api/games/${game.id}/moves`)
        .send({ move: '11-15', revision: 7 })
        .expect(409);
      expect(res.body.error.code).toBe('stale-revision');
    });

    it('validates the body and the game id', async () => {
      const game = await newGame();
      const missing = await api().post(`/api/games/${game.id}/moves`).send({}).expect(400);
      expect(missing.body.error.issues[0].path).toBe('body.move');
      await api().post(`/api/games/${game.id}/moves`).send({ move: 1115 }).expect(400);
      await api()
        .post('/api/games/5b0e7c52-9a8f-4f3a-8d55-0e0e0e0e0e0e/moves')
        .send({ move: '11-15' })
        .expect(404);
    });
  });

  describe('POST /api/games/:id/engine-move', () => {
    it('plays a legal engine move with its search statistics', async () => {
      const game = await newGame({ side: 'black', difficulty: 'easy' });
      const res = await api().post(`/api/games/${game.id}/engine-move`).expect(200);
      const after = res.body as GameView;
      const move = after.moves[0];
      expect(move?.by).toBe('engine');
      expect(game.legalMoves.map((m) => m.notation)).toContain(move?.notation);
      expect(move?.stats?.depth).toBeGreaterThanOrEqual(1);
      expect(move?.stats?.nodes).toBeGreaterThan(0);
      expect(after.status).toEqual({ state: 'ongoing', turn: 'black', awaiting: 'human' });
    });

    it('refuses when it is the human’s turn (409)', async () => {
      const game = await newGame();
      const res = await api().post(`/api/games/${game.id}/engine-move`).expect(409);
      expect(res.body.error.code).toBe('not-your-turn');
    });

    it('moves once when asked twice at the same time', async () => {
      for (let round = 0; round < 3; round++) {
        const game = await newGame({ side: 'black', difficulty: 'easy' });
        const answers = await Promise.all(
          [1, 2, 3].map(() => api().post(`/api/games/${game.id}/engine-move`)),
        );
        // Requests that overlap share one search (200, same game); one arriving after the move
        // was stored finds it is the human's turn, or loses the write race (409). Never two moves.
        for (const answer of answers) {
          if (answer.status === 200) expect(answer.body.moves).toHaveLength(1);
          else {
            expect(answer.status).toBe(409);
            expect(['not-your-turn', 'stale-revision']).toContain(answer.body.error.code);
          }
        }
        expect(answers.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(1);
        const stored = await api().get(`/api/games/${game.id}`).expect(200);
        expect(stored.body.moves).toHaveLength(1);
      }
    });
  });

  describe('undo, resign, draw claim', () => {
    it('undo takes back the human move and the engine reply', async () => {
      const game = await newGame();
      await api().post(`/api/games/${game.id}/undo`).expect(409);
      await api()
        .post(`/api/games/${game.id}/moves`)
        .send({ move: firstMove(game).notation })
        .expect(200);
      const replied = await api().post(`/api/games/${game.id}/engine-move`).expect(200);
      expect(replied.body.moves).toHaveLength(2);
      const undone = await api().post(`/api/games/${game.id}/undo`).expect(200);
      expect(undone.body.moves).toHaveLength(0);
      expect(undone.body.fen).toBe(game.fen);
      expect(undone.body.revision).toBe(4);
    });

    it('resigning ends the game; later actions are refused', async () => {
      const game = await newGame();
      const res = await api().post(`/api/games/${game.id}/resign`).expect(200);
      expect(res.body.status).toMatchObject({
        state: 'finished',
        result: '0-1',
        winner: 'black',
        reason: 'resignation',
      });
      expect(res.body.legalMoves).toEqual([]);
      expect(
        (await api().post(`/api/games/${game.id}/moves`).send({ move: '11-15' }).expect(409)).body
          .error.code,
      ).toBe('game-over');
      await api().post(`/api/games/${game.id}/resign`).expect(409);
      await api().post(`/api/games/${game.id}/undo`).expect(409);
      await api().post(`/api/games/${game.id}/engine-move`).expect(409);
    });

    it('refuses a draw claim in a position that does not qualify', async () => {
      const game = await newGame();
      expect(game.drawClaim).toEqual({ available: false });
      const res = await api().post(`/api/games/${game.id}/draw-claim`).expect(409);
      expect(res.body.error.code).toBe('draw-not-claimable');
    });

    it('accepts a draw claim in a position that qualifies', async () => {
      // Such positions are deep in a game: find one by seeded self-play and store it directly.
      const moves = findClaimableLine();
      const db = await openDatabase(testConfig(storage.env).database);
      try {
        const store = new GameStore(db);
        const humanSide = moves.length % 2 === 0 ? 'white' : 'black';
        const created = await store.create({ humanSide, difficulty: 'easy' });
        await store.update(created, {
          moves: moves.map((notation, i): MoveRecord => {
            const side = i % 2 === 0 ? 'white' : 'black';
            return side === humanSide
              ? { by: 'human', notation }
              : { by: 'engine', notation, stats: { score: 0, depth: 2, nodes: 1, elapsedMs: 1 } };
          }),
          termination: null,
        });
        const before = await api().get(`/api/games/${created.id}`).expect(200);
        expect(before.body.drawClaim.available).toBe(true);
        const res = await api().post(`/api/games/${created.id}/draw-claim`).expect(200);
        expect(res.body.status).toMatchObject({
          state: 'finished',
          result: '1/2-1/2',
          winner: null,
          reason: 'draw-claim',
        });
        const pdn = await api().get(`/api/games/${created.id}/pdn`).expect(200);
        expect(pdn.text).toContain('[Result "1/2-1/2"]');
      } finally {
        await db.destroy();
      }
    });

    it('rejects bodies on action endpoints that should be empty', async () => {
      const game = await newGame();
      await api().post(`/api/games/${game.id}/resign`).send({ really: true }).expect(400);
    });
  });

  describe('GET /api/games/:id/pdn', () => {
    it('exports the game as a PDN attachment', async () => {
      const game = await newGame();
      await api().post(`/api/games/${game.id}/moves`).send({ move: '11-15' }).expect(200);
      await api().post(`/api/games/${game.id}/engine-move`).expect(200);
      await api().post(`/api/games/${game.id}/resign`).expect(200);
      const res = await api().get(`/api/games/${game.id}/pdn`).expect(200);
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(res.headers['content-disposition']).toContain(`checkers-${game.id}.pdn`);
      expect(res.text).toContain('[GameType "24"]');
      expect(res.text).toContain('[White "Human"]');
      expect(res.text).toContain('[Result "0-1"]');
      expect(res.text).toMatch(/\n1\. 11-15 \d+[-x]\d+/);
      expect(res.text.trimEnd().endsWith('0-1')).toBe(true);
    });
  });

  it('plays a whole game through the API until it ends', async () => {
    let game = await newGame({ side: 'white', difficulty: 'easy' });
    for (let ply = 0; ply < 400 && game.status.state === 'ongoing'; ply++) {
      const res =
        game.status.awaiting === 'human'
          ? await api()
              .post(`/api/games/${game.id}/moves`)
              .send({ move: firstMove(game).notation, revision: game.revision })
          : await api().post(`/api/games/${game.id}/engine-move`);
      expect(res.status).toBe(200);
      game = res.body as GameView;
    }
    expect(game.status.state).toBe('finished');
    if (game.status.state !== 'finished') return;
    expect(['no-moves', 'repetition', 'move-limit']).toContain(game.status.reason);
    expect(game.legalMoves).toEqual([]);
    const pdn = await api().get(`/api/games/${game.id}/pdn`).expect(200);
    expect(pdn.text).toContain(`[Result "${game.status.result}"]`);
  });

  it('keeps games across a restart', async () => {
    const game = await newGame();
    await api().post(`/api/games/${game.id}/moves`).send({ move: '9-13' }).expect(200);
    await server.close();
    server = await startTestServer(storage.env);
    const res = await api().get(`/api/games/${game.id}`).expect(200);
    expect(res.body.moves.map((m: { notation: string }) => m.notation)).toEqual(['9-13']);
    expect(res.body.revision).toBe(2);
  });

  it('serves the web app, observability endpoints and JSON 404s', async () => {
    const page = await api().get('/').expect(200);
    expect(page.text).toContain('<svg id="board"');
    await api()
      .get('/app.js')
      .expect(200)
      .expect('content-type', /javascript/);
    await api().get('/healthz').expect(200);
    await api().get('/readyz').expect(200);
    const game = await newGame({ side: 'black', difficulty: 'easy' });
    await api().post(`/api/games/${game.id}/engine-move`).expect(200);
    const metrics = await api().get('/metrics').expect(200);
    expect(metrics.text).toMatch(
      /checkers_engine_move_seconds_count\{[^}]*difficulty="easy",engine="pool",outcome="move"\} [1-9]/,
    );
    const vars = await api().get('/debug/vars').expect(200);
    expect(vars.body.engine.mode).toBe('pool');
    const levels = await api().get('/api/difficulties').expect(200);
    expect(Object.keys(levels.body)).toEqual(['easy', 'medium', 'hard']);
    expect(levels.body.hard).toMatchObject({
      timeMs: 800,
      scorer: 'piece-count+neural-tiebreak',
    });
    expect(vars.body.engine.network).toMatch(/^wasm/);
    const none = await api().get('/api/nothing-here').expect(404);
    expect(none.body.error.code).toBe('no-such-route');
  });
});
