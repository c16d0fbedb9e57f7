import { createBus, type Bus } from '@conveyor/bus';
import { defineStepHandler, startStepWorker, stepQueue } from '@conveyor/worker-sdk';
import request from 'supertest';
import { start, type Orchestrator } from '../src/main';
import { AMQP_URL, quietLogger, sqliteStore, testConfig, waitFor, workflowDir } from './harness';
import { SLOW_WORKER, spawnTs, type Child } from './processes';
import { deleteTopology, runPrefix } from './rabbitmq';

jest.setTimeout(120_000);

// STEP_QUEUE_TYPE=classic: step, result and progress queues are classic queues. Classic queues
// have no broker delivery limit; the bus counts crash redeliveries itself, and a worker killed
// mid-step must still have its request redelivered to another worker (at-least-once).
const prefix = runPrefix('classic');
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
const sqlite = sqliteStore();
const buses: Bus[] = [];
const children: Child[] = [];
let orchestrator: Orchestrator;

async function bus(name: string): Promise<Bus> {
  const b = await createBus({
    url: AMQP_URL,
    logger: quietLogger(),
    connectionName: `${prefix}-${name}`,
  });
  buses.push(b);
  return b;
}

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
  for (const b of buses) await b.close();
  await deleteTopology(prefix);
  wf.cleanup();
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
    /PRECONDITION_FAILED/,
  );
  await rescuer.close();
});
