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

  it('searches hard in the worker with the network it loaded at start', async () => {
    const workerVars = await request(worker.url).get('/debug/vars').expect(200);
    expect(workerVars.body.engine.network).toBe('wasm (1 threads)');
    const engine = await BusEngine.create({
      bus: probe,
      requestQueue,
      replyTopic,
      logger: quietLogger(),
    });
    try {
      // Depth capped so the network has most of the budget however loaded the machine is.
      const outcome = await engine.chooseMove({
        fen: 'W:W1,2,3,4,5,6,7,8,9,10,11,12:B21,22,23,24,25,26,27,28,29,30,31,32',
        history: [],
        difficulty: 'hard',
        search: { ...DIFFICULTIES.hard, maxDepth: 4 },
        seed: 3,
      });
      expect(outcome).toMatchObject({ kind: 'move', depth: 4, tieBreak: { by: 'network' } });
      const metrics = await request(worker.url).get('/metrics').expect(200);
      expect(metrics.text).toMatch(
        /checkers_engine_worker_search_tiebreaks_total\{[^}]*difficulty="hard",by="network"[^}]*\} 1/,
      );
    } finally {
      await engine.close();
    }
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

describe('engine over RabbitMQ without a worker', () => {
  const requestQueue = uniqueName('checkers-test.lonely');
  const replyTopic = uniqueName('checkers-test.lonely-replies');

  it('answers 504 when no worker takes the request; a late worker skips the expired request', async () => {
    const storage = createTestStorage('sqlite');
    const server = await startTestServer({
      ...storage.env,
      ENGINE_MODE: 'bus',
      AMQP_URL,
      ENGINE_REQUEST_QUEUE: requestQueue,
      ENGINE_REPLY_TOPIC: replyTopic,
      ENGINE_QUEUE_SLACK_MS: '0',
    });
    let lateWorker: RunningEngineWorker | undefined;
    try {
      const created = await request(server.url)
        .post('/api/games')
        .send({ side: 'black', difficulty: 'easy' })
        .expect(201);
      const res = await request(server.url)
        .post(`/api/games/${created.body.id}/engine-move`)
        .expect(504);
      expect(res.body.error.code).toBe('engine-timeout');
      expect(res.body.error.message).toContain(requestQueue);
      const unchanged = await request(server.url).get(`/api/games/${created.body.id}`).expect(200);
      expect(unchanged.body.moves).toEqual([]);

      lateWorker = await startEngineWorker(
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
      // The deadline only stops a hang: the late worker's consumer may take a while to be
      // handed the waiting request on a loaded machine.
      const deadline = Date.now() + 30_000;
      let expired = 0;
      while (expired === 0 && Date.now() < deadline) {
        expired = (await request(lateWorker.url).get('/debug/vars').expect(200)).body.engine
          .expired;
        if (expired === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(expired).toBe(1);
    } finally {
      await lateWorker?.close();
      await server.close();
      await storage.dispose();
      await deleteTopology(requestQueue, replyTopic);
    }
  });
});

/** Removes the queues and exchanges a test run declared (unique names: nobody else's). */
async function deleteTopology(requestQueue: string, replyTopic: string): Promise<void> {
  const connection = await connect(AMQP_URL);
  const channel = await connection.createChannel();
  const queues = [
    requestQueue,
    topologyNames.deadLetterQueue(requestQueue),
    topologyNames.topicDeadLetterQueue(replyTopic),
  ];
  for (const q of queues) await channel.deleteQueue(q);
  const exchanges = [
    topologyNames.deadLetterExchange(requestQueue),
    topologyNames.topicDeadLetterExchange(replyTopic),
    replyTopic,
  ];
  for (const x of exchanges) await channel.deleteExchange(x);
  await connection.close();
}

async function waitForDeadLetters(bus: Bus, queue: string) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const letters = await bus.drainDeadLetters(engineRequestQueue(queue), 10);
    if (letters.length > 0) return letters;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing reached ${queue}.dlq within 30 s`);
}
