import { connect } from 'amqplib';
import request from 'supertest';
import { createBus, topologyNames, type Bus } from '@conveyor/bus';
import { DIFFICULTIES } from '../src/difficulty';
import { BusEngine } from '../src/engine/bus-engine';
import { engineRequestQueue } from '../src/engine/engine-messages';
import { startEngineWorker, type RunningEngineWorker } from '../src/engine-worker';
import type { GameView } from '../src/game-view';
import type { RunningCheckers } from '../src/main';
import {
  AMQP_URL,
  BUNDLE_DIR,
  createTestStorage,
  quietLogger,
  startTestServer,
  uniqueName,
  type TestStorage,
} from './harness';

/**
 * ENGINE_MODE=bus against the real RabbitMQ: the game server publishes engine requests, an
 * engine worker answers them. Queue and exchange names are unique to this run and deleted after.
 */
describe('engine moves over RabbitMQ', () => {
  const requestQueue = uniqueName('checkers-test.requests');
  const replyTopic = uniqueName('checkers-test.replies');
  let storage: TestStorage;
  let worker: RunningEngineWorker;
  let server: RunningCheckers;
  let probe: Bus;

  beforeAll(async () => {
    storage = createTestStorage('sqlite');
    worker = await startEngineWorker(
      {
        port: 0,
        host: '127.0.0.1',
        logLevel: 'silent',
        amqpUrl: AMQP_URL,
        threads: 1,
        requestQueue,
        replyTopic,
        bundleDir: BUNDLE_DIR,
      },
      { handleSignals: false, logger: quietLogger() },
    );
    server = await startTestServer({
      ...storage.env,
      ENGINE_MODE: 'bus',
      AMQP_URL,
      ENGINE_REQUEST_QUEUE: requestQueue,
      ENGINE_REPLY_TOPIC: replyTopic,
    });
    probe = await createBus({
      url: AMQP_URL,
      logger: quietLogger(),
      connectionName: uniqueName('checkers-test-probe'),
    });
  });

  afterAll(async () => {
    await server?.close();
    await worker?.close();
    await probe?.close();
    await storage?.dispose();
    const connection = await connect(AMQP_URL);
    const channel = await connection.createChannel();
    for (const q of [
      requestQueue,
      topologyNames.deadLetterQueue(requestQueue),
      topologyNames.topicDeadLetterQueue(replyTopic),
    ]) {
      await channel.deleteQueue(q);
    }
    for (const x of [
      topologyNames.deadLetterExchange(requestQueue),
      topologyNames.topicDeadLetterExchange(replyTopic),
      replyTopic,
    ]) {
      await channel.deleteExchange(x);
    }
    await connection.close();
  });

  it('serves engine moves through the worker', async () => {
    const created = await request(server.url)
      .post('/api/games')
      .send({ side: 'black', difficulty: 'easy' })
      .expect(201);
    const game = created.body as GameView;
    const res = await request(server.url).post(`/api/games/${game.id}/engine-move`).expect(200);
    const after = res.body as GameView;
    expect(after.moves).toHaveLength(1);
    expect(game.legalMoves.map((m) => m.notation)).toContain(after.moves[0]?.notation);
    expect(after.status).toMatchObject({ state: 'ongoing', awaiting: 'human' });

    const vars = await request(server.url).get('/debug/vars').expect(200);
    expect(vars.body.engine).toMatchObject({ mode: 'bus', timeouts: 0 });
    const workerVars = await request(worker.url).get('/debug/vars').expect(200);
    expect(workerVars.body.engine.completed).toBeGreaterThanOrEqual(1);
    await request(server.url).get('/readyz').expect(200);
  });

  it('answers a position the engine rejects, and dead-letters the request', async () => {
    const engine = await BusEngine.create({
      bus: probe,
      requestQueue,
      replyTopic,
      logger: quietLogger(),
    });
    try {
      // Valid per the contract's FEN pattern, impossible on the board: square 33 does not exist.
      const outcome = await engine.chooseMove({
        fen: 'W:W33:B1',
        history: [],
        difficulty: 'easy',
        search: DIFFICULTIES.easy,
        seed: 1,
      });
      expect(outcome.kind).toBe('rejected');
      if (outcome.kind === 'rejected') expect(outcome.reason).toContain('33');
      const dead = await waitForDeadLetters(probe, requestQueue);
      expect(dead[0]?.reason).toContain('engine rejected the request');
      expect((dead[0]?.body as { fen: string }).fen).toBe('W:W33:B1');
    } finally {
      await engine.close();
    }
  });

  it('dead-letters a malformed request instead of dropping it', async () => {
    const connection = await connect(AMQP_URL);
    const channel = await connection.createConfirmChannel();
    channel.sendToQueue(
      requestQueue,
      Buffer.from(
        JSON.stringify({ type: 'checkers.engine-move.request', version: 1, fen: 'nonsense' }),
      ),
      {
        contentType: 'application/json',
        persistent: true,
      },
    );
    await channel.waitForConfirms();
    await connection.close();
    const dead = await waitForDeadLetters(probe, requestQueue);
    expect(dead[0]?.reason).toMatch(/fen|requestId/);
  });
});

async function waitForDeadLetters(bus: Bus, queue: string) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const letters = await bus.drainDeadLetters(engineRequestQueue(queue), 10);
    if (letters.length > 0) return letters;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing reached ${queue}.dlq within 15 s`);
}
