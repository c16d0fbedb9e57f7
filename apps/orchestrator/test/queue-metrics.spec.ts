import { defineStepHandler, startStepWorker, type StepWorker } from '@conveyor/worker-sdk';
import request from 'supertest';
import { start, type Orchestrator } from '../src/main';
import type { StoreConfig } from '../src/store/database';
import {
  AMQP_URL,
  brokerBuses,
  postgresStore,
  quietLogger,
  sqliteStore,
  testConfig,
  waitFor,
  workflowDir,
} from './harness';
import { deleteTopology, runPrefix } from './rabbitmq';

jest.setTimeout(120_000);

// The backlog gauges autoscalers read: requests waiting in the broker, and steps dispatched but
// not answered (with the age of the oldest), read from the shared database.
const prefix = runPrefix('qmetrics');
const q = (name: string) => `${prefix}-${name}`;
const { bus, closeAll: closeBuses } = brokerBuses(prefix);
const cleanups: (() => unknown)[] = [];

afterAll(async () => {
  await closeBuses();
  await deleteTopology(prefix);
  for (const c of cleanups) await c();
});

/** `{queue="…"}` value of one gauge in a Prometheus exposition, or undefined when absent. */
function gauge(text: string, name: string, queue: string): number | undefined {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && l.includes(`queue="${queue}"`));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe.each([
  ['SQLite', () => sqliteStore()],
  ['PostgreSQL', () => postgresStore()],
] as const)('queue backlog metrics on %s', (label, makeStore) => {
  let orchestrator: Orchestrator;
  let worker: StepWorker | undefined;
  const model = q(`model-${label.toLowerCase()}`);

  beforeAll(async () => {
    const store: { store: StoreConfig; cleanup(): unknown } = makeStore();
    const wf = workflowDir({
      'score.yaml': `
name: score
version: 1
steps:
  score: { queue: ${model}, timeout: 60s }
output: 'steps.score'
`,
    });
    cleanups.push(
      () => store.cleanup(),
      () => wf.cleanup(),
    );
    orchestrator = await start(
      testConfig({
        resultsQueue: q(`results-${label}`),
        progressQueue: q(`progress-${label}`),
        eventsExchange: q(`events-${label}`),
        store: store.store,
        workflowsDir: wf.dir,
        amqpUrl: AMQP_URL,
        connectionName: q(`orch-${label}`),
      }),
      { logger: quietLogger(), bus: await bus(`orch-${label}`) },
    );
  });

  afterAll(async () => {
    await worker?.close();
    await orchestrator?.close();
  });

  it('reports waiting requests, steps in flight and the oldest one’s age, then their drain', async () => {
    const metrics = async () => (await request(orchestrator.url).get('/metrics')).text;
    // Nobody consumes yet: three requests wait in the broker.
    for (let i = 0; i < 3; i++) {
      const res = await request(orchestrator.url)
        .post('/api/workflows/score/runs')
        .send({ input: { i } });
      expect(res.status).toBe(201);
    }
    const backlog = await waitFor('three requests waiting', async () => {
      const text = await metrics();
      return gauge(text, 'conveyor_queue_messages', model) === 3 && text;
    });
    expect(gauge(backlog, 'conveyor_queue_steps_in_flight', model)).toBe(3);
    expect(gauge(backlog, 'conveyor_queue_dead_letters', model)).toBe(0);
    expect(gauge(backlog, 'conveyor_queue_oldest_step_age_seconds', model)).toBeGreaterThan(0);

    worker = await startStepWorker({
      bus: await bus(`worker-${label}`),
      logger: quietLogger(),
      queueType: 'classic',
      handlers: [defineStepHandler({ queue: model, handle: async ({ input }) => ({ input }) })],
    });
    const drained = await waitFor('the backlog to drain', async () => {
      const text = await metrics();
      return (
        gauge(text, 'conveyor_queue_messages', model) === 0 &&
        gauge(text, 'conveyor_queue_steps_in_flight', model) === 0 &&
        text
      );
    });
    expect(gauge(drained, 'conveyor_queue_oldest_step_age_seconds', model)).toBe(0);
  });
});
