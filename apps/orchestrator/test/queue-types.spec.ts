import { defineStepHandler, startStepWorker, stepQueue } from '@conveyor/worker-sdk';
import request from 'supertest';
import { start, type Orchestrator } from '../src/main';
import {
  AMQP_URL,
  brokerBuses,
  quietLogger,
  sqliteStore,
  testConfig,
  waitFor,
  workflowDir,
} from './harness';
import { SLOW_WORKER, spawnTs, type Child } from './processes';
import { deleteTopology, runPrefix } from './rabbitmq';

jest.setTimeout(120_000);

// STEP_QUEUE_TYPE=classic (the default): step, result and progress queues are classic queues.
// Classic queues have no broker delivery limit; the bus counts crash redeliveries itself, and a
// worker killed mid-step must still have its request redelivered to another worker
// (at-least-once). STEP_QUEUE_TYPE=quorum stays available, and a queue left on the broker with
// the other type stops the orchestrator at start-up with an explanation.
const prefix = runPrefix('qtype');
const q = (name: string) => `${prefix}-${name}`;
const wf = workflowDir({
  'slow.yaml': `
name: slow
version: 1
steps:
  work: { queue: ${q('slow')}, timeout: 60s }
  after: { queue: ${q('fast')}, needs: [work], input: 'steps.work' }
output: 'steps.after'
`,
});
const quorumWf = workflowDir({
  'quorum.yaml': `
name: on-quorum
version: 1
steps:
  first: { queue: ${q('quorum-a')} }
  second: { queue: ${q('quorum-b')}, needs: [first], input: '{ "n": steps.first.n + 1 }' }
output: 'steps.second'
`,
});
const sqlite = sqliteStore();
const children: Child[] = [];
let orchestrator: Orchestrator;

const { bus, closeAll: closeBuses } = brokerBuses(prefix);

beforeAll(async () => {
  orchestrator = await start(
    testConfig({
      resultsQueue: q('results'),
      progressQueue: q('progress'),
      eventsExchange: q('events'),
      store: sqlite.store,
      workflowsDir: wf.dir,
      amqpUrl: AMQP_URL,
      connectionName: q('orch'),
      stepQueueType: 'classic',
    }),
    { logger: quietLogger(), bus: await bus('orch') },
  );
});

afterAll(async () => {
  for (const c of children) await c.kill();
  await orchestrator?.close();
  await closeBuses();
  await deleteTopology(prefix);
  wf.cleanup();
  quorumWf.cleanup();
  sqlite.cleanup();
});

it('on classic queues, redelivers the step of a worker killed mid-step; the run completes', async () => {
  const doomed = spawnTs(SLOW_WORKER, {
    QUEUE: q('slow'),
    SLEEP_MS: '20000',
    AMQP_URL,
    CONNECTION_NAME: q('doomed'),
    STEP_QUEUE_TYPE: 'classic',
  });
  children.push(doomed);
  await doomed.waitForLine(/^ready/);
  const handlers = [
    defineStepHandler({ queue: q('slow'), handle: async () => ({ by: 'rescuer' }) }),
    defineStepHandler({ queue: q('fast'), handle: async ({ input }) => ({ after: input }) }),
  ];
  const res = await request(orchestrator.url).post('/api/workflows/slow/runs').send({ input: {} });
  expect(res.status).toBe(201);
  await doomed.waitForLine(/^started /);
  await doomed.kill('SIGKILL');

  const rescuer = await startStepWorker({
    bus: await bus('rescuer'),
    logger: quietLogger(),
    workerId: 'rescuer',
    queueType: 'classic',
    handlers,
  });
  const run = await waitFor(
    'the run to finish',
    async () => {
      const body = (await request(orchestrator.url).get(`/api/runs/${res.body.run.id}`)).body;
      return body.status !== 'running' && body;
    },
    60_000,
  );
  expect(run.status).toBe('succeeded');
  expect(run.output).toEqual({ after: { by: 'rescuer' } });
  const work = run.steps.find((s: { step: string }) => s.step === 'work');
  // A redelivery, not a timeout: still step attempt 1, finished by the second worker.
  expect(work.attempts).toEqual([
    expect.objectContaining({ attempt: 1, status: 'succeeded', workerId: 'rescuer' }),
  ]);
  // The protocol queues really are classic (a quorum declaration would now be refused).
  const probe = await bus('probe');
  await expect(probe.assertQueue(stepQueue(q('slow'), 'quorum'))).rejects.toThrow(
    /exists on the broker as a classic queue, but this process declares it as quorum/,
  );
  await rescuer.close();
});

it('runs on quorum queues with STEP_QUEUE_TYPE=quorum', async () => {
  const store = sqliteStore();
  const config = testConfig({
    resultsQueue: q('quorum-results'),
    progressQueue: q('quorum-progress'),
    eventsExchange: q('quorum-events'),
    store: store.store,
    workflowsDir: quorumWf.dir,
    amqpUrl: AMQP_URL,
    connectionName: q('quorum-orch'),
    stepQueueType: 'quorum',
  });
  const onQuorum = await start(config, { logger: quietLogger(), bus: await bus('quorum-orch') });
  const worker = await startStepWorker({
    bus: await bus('quorum-worker'),
    logger: quietLogger(),
    queueType: 'quorum',
    handlers: [
      defineStepHandler({ queue: q('quorum-a'), handle: async () => ({ n: 1 }) }),
      defineStepHandler({ queue: q('quorum-b'), handle: async ({ input }) => input }),
    ],
  });
  try {
    const res = await request(onQuorum.url)
      .post('/api/workflows/on-quorum/runs')
      .send({ input: {}, waitMs: 30_000 });
    expect(res.body.run).toMatchObject({ status: 'succeeded', output: { n: 2 } });
    // The queues really are quorum: a classic declaration is refused, with the explanation.
    await expect((await bus('quorum-probe')).assertQueue(stepQueue(q('quorum-a')))).rejects.toThrow(
      /exists on the broker as a quorum queue, but this process declares it as classic/,
    );
  } finally {
    await worker.close();
    await onQuorum.close();
    store.cleanup();
  }
});

it('refuses to start when a step queue exists with the other type, saying which and how to fix it', async () => {
  // The quorum test above left its step queues as quorum; an orchestrator on the default
  // (classic) meeting them must stop before serving anything.
  const store = sqliteStore();
  const started = start(
    testConfig({
      resultsQueue: q('mismatch-results'),
      progressQueue: q('mismatch-progress'),
      eventsExchange: q('mismatch-events'),
      store: store.store,
      workflowsDir: quorumWf.dir,
      amqpUrl: AMQP_URL,
      connectionName: q('mismatch-orch'),
    }),
    { logger: quietLogger(), bus: await bus('mismatch-orch') },
  );
  const name = q('quorum-a').replace(/[.-]/g, (c) => `\\${c}`);
  await expect(started).rejects.toThrow(
    new RegExp(
      `queue ${name} exists on the broker as a quorum queue, but this process declares it as classic .*set STEP_QUEUE_TYPE=quorum on the orchestrator and every worker to keep it, or drain the queue and delete it \\(rabbitmqctl delete_queue ${name}\\)`,
    ),
  );
  store.cleanup();
});
