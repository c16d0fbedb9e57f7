import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrchestrator } from '@conveyor/test-support';
import {
  defineStepHandler,
  startStepWorker,
  stepResultsQueue,
  type StepWorker,
} from '@conveyor/worker-sdk';
import request from 'supertest';
import { start, type Orchestrator } from '../src/main';
import {
  AMQP_URL,
  brokerBuses,
  postgresStore,
  quietLogger,
  testConfig,
  waitFor,
  workflowDir,
} from './harness';
import { ROOT, SLOW_WORKER, spawnTs, type Child } from './processes';
import { closeOwnConnections, deleteTopology, publishRaw, runPrefix } from './rabbitmq';

jest.setTimeout(120_000);

const prefix = runPrefix('rel');
const names = {
  resultsQueue: `${prefix}-results`,
  progressQueue: `${prefix}-progress`,
  eventsExchange: `${prefix}-events`,
};
const q = (name: string) => `${prefix}-${name}`;

const WORKFLOWS = {
  'queues.yaml': `queues:\n${['slow', 'fast', 'none', 'step'].map((n) => `  ${q(n)}: {}`).join('\n')}\n`,
  'slow.yaml': `
name: slow
version: 1
steps:
  work: { queue: ${q('slow')}, timeout: 60s }
  after: { queue: ${q('fast')}, needs: [work], input: 'steps.work' }
output: 'steps.after'
`,
  'chain.yaml': `
name: chain
version: 1
inputSchema:
  type: object
  required: [items]
  properties:
    items: { type: array, items: { type: integer } }
steps:
  one: { queue: ${q('step')}, input: '{ "n": 1 }' }
  fan:
    needs: [one]
    forEach: input.items
    concurrency: 4
    queue: ${q('step')}
    input: '{ "n": item }'
  two: { queue: ${q('step')}, needs: [fan], input: '{ "n": $sum(steps.fan.n) }' }
  three: { queue: ${q('step')}, needs: [two], input: '{ "n": steps.two.n + 1 }' }
output: 'steps.three.n'
`,
  'unserved.yaml': `
name: unserved
version: 1
steps:
  lonely: { queue: ${q('none')}, timeout: 300ms, retry: { maxAttempts: 2, backoff: { initial: 50ms } } }
`,
};

const wf = workflowDir(WORKFLOWS);
const pg = postgresStore();
const children: Child[] = [];

const { bus, closeAll: closeBuses } = brokerBuses(prefix);

/** Worker for `step` (sleeps stepMs, returns {n}) and `fast` (echo), on its own connection. */
async function stepWorker(name: string, stepMs: number): Promise<StepWorker> {
  return startStepWorker({
    bus: await bus(name),
    logger: quietLogger(),
    handlers: [
      defineStepHandler<{ n: number }, { n: number }>({
        queue: q('step'),
        concurrency: 8,
        handle: async ({ input }) => (
          await new Promise((r) => setTimeout(r, stepMs)),
          { n: input.n }
        ),
      }),
      defineStepHandler({ queue: q('fast'), handle: async ({ input }) => ({ after: input }) }),
    ],
  });
}

let orchestrator: Orchestrator;

beforeAll(async () => {
  orchestrator = await start(
    testConfig({
      ...names,
      store: pg.store,
      workflowsDir: wf.dir,
      amqpUrl: AMQP_URL,
      connectionName: `${prefix}-orch`,
    }),
    {
      logger: quietLogger(),
      bus: await bus('orch'),
    },
  );
});

afterAll(async () => {
  for (const c of children) await c.kill();
  await orchestrator?.close();
  await closeBuses();
  await pg.cleanup();
  await deleteTopology(prefix);
  wf.cleanup();
});

const runStatus = async (url: string, id: string) =>
  (await request(url).get(`/api/runs/${id}`)).body;
const finished = (url: string, id: string, timeoutMs = 60_000) =>
  waitFor(
    `run ${id} to finish`,
    async () => {
      const run = await runStatus(url, id);
      return run.status !== 'running' && run;
    },
    timeoutMs,
  );

describe('reliability against RabbitMQ and PostgreSQL', () => {
  it('redelivers the step of a worker killed mid-step; the run completes', async () => {
    const doomed = spawnTs(SLOW_WORKER, {
      QUEUE: q('slow'),
      SLEEP_MS: '20000',
      AMQP_URL,
      CONNECTION_NAME: `${prefix}-doomed`,
    });
    children.push(doomed);
    await doomed.waitForLine(/^ready/);
    const fast = await stepWorker('fast-1', 0);
    const res = await request(orchestrator.url)
      .post('/api/workflows/slow/runs')
      .send({ input: {} });
    expect(res.status).toBe(201);
    await doomed.waitForLine(/^started /);
    await doomed.kill('SIGKILL');

    const rescuer = await startStepWorker({
      bus: await bus('rescuer'),
      logger: quietLogger(),
      workerId: 'rescuer',
      handlers: [defineStepHandler({ queue: q('slow'), handle: async () => ({ by: 'rescuer' }) })],
    });
    const run = await finished(orchestrator.url, res.body.run.id);
    expect(run.status).toBe('succeeded');
    expect(run.output).toEqual({ after: { by: 'rescuer' } });
    const work = run.steps.find((s: { step: string }) => s.step === 'work');
    // Redelivery, not a timeout: still attempt 1, finished by the second worker.
    expect(work.attempts).toEqual([
      expect.objectContaining({ attempt: 1, status: 'succeeded', workerId: 'rescuer' }),
    ]);
    await rescuer.close();
    await fast.close();
  });

  it('a restarted orchestrator resumes a run whose orchestrator was killed; each step is recorded once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'orch-kill-'));
    // PORT=0 and the URL from its ready line: a port chosen beforehand could be taken by another
    // connection during the seconds tsx needs to start it.
    const options = {
      root: ROOT,
      amqpUrl: AMQP_URL,
      dataDir,
      workflowsDir: wf.dir,
      prefix: `${prefix}-kill-`,
      env: { SWEEP_INTERVAL_MS: '100' },
      // tsx compiles the orchestrator on start: tens of seconds on a busy 2-core machine.
      timeoutMs: 90_000,
    };
    // Fan-out items from 3 on wait for the gate: some are surely still running when the
    // orchestrator is killed, and their results go out only after it is gone.
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const worker = await startStepWorker({
      bus: await bus('kill-worker'),
      logger: quietLogger(),
      handlers: [
        defineStepHandler<{ n: number }, { n: number }>({
          queue: q('step'),
          concurrency: 8,
          handle: async ({ input }) => {
            if (input.n >= 3) await gate;
            return { n: input.n };
          },
        }),
      ],
    });
    try {
      const first = await startOrchestrator(options);
      children.push(first.process);
      const res = await request(first.base)
        .post('/api/workflows/chain/runs')
        .send({ input: { items: [1, 2, 3, 4, 5, 6, 7, 8] } });
      expect(res.status).toBe(201);
      const id = res.body.run.id as string;
      await waitFor('the fan-out to be under way', async () => {
        const run = await runStatus(first.base, id);
        const fan = run.steps.find((s: { step: string }) => s.step === 'fan');
        return fan && fan.fanOut.succeeded >= 2;
      });
      await first.process.kill('SIGKILL');
      // Results arrive in the durable results queue while no orchestrator runs: the restarted
      // one must take them from there.
      openGate();
      const results = stepResultsQueue(`${prefix}-kill-results`);
      const probe = await bus('kill-probe');
      await waitFor(
        'a result to wait in the queue of the killed orchestrator',
        async () => (await probe.queueDepth(results)) > 0,
      );
      const second = await startOrchestrator(options);
      children.push(second.process);
      const url = second.base;
      const run = await finished(url, id);
      expect(run.status).toBe('succeeded');
      expect(run.output).toBe(37);
      expect(
        run.steps.map((s: { step: string; status: string }) => `${s.step}:${s.status}`),
      ).toEqual(['one:succeeded', 'fan:succeeded', 'two:succeeded', 'three:succeeded']);
      const fan = run.steps.find((s: { step: string }) => s.step === 'fan');
      expect(fan.fanOut).toEqual({ total: 8, released: 8, succeeded: 8, failed: 0 });
      const tasks = [
        ...run.steps.filter((s: { kind: string }) => s.kind !== 'fanout'),
        ...fan.items,
      ];
      expect(tasks).toHaveLength(3 + 8);
      for (const task of tasks)
        expect(
          task.attempts.map((a: { attempt: number; status: string }) => `${a.attempt}:${a.status}`),
        ).toEqual(['1:succeeded']);
      await second.process.kill('SIGTERM');
    } finally {
      openGate();
      await worker.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('completes a run while the broker connections of orchestrator and worker are dropped', async () => {
    const worker = await stepWorker('drop-worker', 100);
    const res = await request(orchestrator.url)
      .post('/api/workflows/chain/runs')
      .send({ input: { items: [1, 2, 3, 4, 5, 6] } });
    const id = res.body.run.id as string;
    await waitFor(
      'step one to finish',
      async () => (await runStatus(orchestrator.url, id)).steps[0]?.status === 'succeeded',
    );
    // The orchestrator's and the worker's publish and consume connections (ours only, by name).
    const [orch, work] = await Promise.all([
      closeOwnConnections(`${prefix}-orch`),
      closeOwnConnections(`${prefix}-drop-worker`),
    ]);
    expect(orch + work).toBe(4);
    const run = await finished(orchestrator.url, id);
    expect(run.status).toBe('succeeded');
    expect(run.output).toBe(22);
    await worker.close();
  });

  it('retries a step nobody answers, then fails the run with a STEP_TIMEOUT error', async () => {
    const res = await request(orchestrator.url)
      .post('/api/workflows/unserved/runs')
      .send({ input: {}, waitMs: 20_000 });
    expect(res.status).toBe(200);
    expect(res.body.run.status).toBe('failed');
    expect(res.body.run.error).toMatchObject({ code: 'STEP_TIMEOUT' });
    expect(res.body.run.error.message).toMatch(/sent no result within 300ms \(attempt 2 of 2\)/);
    expect(res.body.run.steps[0].attempts.map((a: { status: string }) => a.status)).toEqual([
      'timed_out',
      'timed_out',
    ]);
  });

  it('dead-letters malformed results without corrupting runs', async () => {
    const worker = await stepWorker('dlq-worker', 50);
    const res = await request(orchestrator.url)
      .post('/api/workflows/chain/runs')
      .send({ input: { items: [1, 2] } });
    const id = res.body.run.id as string;
    const detail = await runStatus(orchestrator.url, id);
    await publishRaw(prefix, names.resultsQueue, Buffer.from('this is not json'));
    await publishRaw(
      prefix,
      names.resultsQueue,
      Buffer.from(
        JSON.stringify({
          type: 'workflow.step.result',
          version: 1,
          taskId: detail.steps[0].taskId,
          runId: id,
          attempt: 1,
          step: 'one',
          status: 'succeeded',
        }),
      ),
    );
    await publishRaw(
      prefix,
      names.resultsQueue,
      Buffer.from(
        JSON.stringify({
          type: 'workflow.step.result',
          version: 1,
          taskId: detail.steps[0].taskId,
          runId: id,
          attempt: 'one',
          status: 'failed',
        }),
      ),
    );
    const run = await finished(orchestrator.url, id);
    expect(run.status).toBe('succeeded');
    expect(run.output).toBe(4);
    const letters = await waitFor('3 dead letters', async () => {
      const body = (await request(orchestrator.url).get('/api/dead-letters')).body;
      return body.deadLetters.length >= 3 && body.deadLetters;
    });
    expect(letters.map((l: { queue: string }) => l.queue)).toEqual([
      names.resultsQueue,
      names.resultsQueue,
      names.resultsQueue,
    ]);
    expect(letters.map((l: { reason: string }) => l.reason).join('\n')).toMatch(/output/);
    const metrics = await request(orchestrator.url).get('/metrics');
    expect(metrics.text).toMatch(
      new RegExp(`conveyor_workflow_dead_letters_total\\{queue="${names.resultsQueue}"[^}]*\\} 3`),
    );
    await worker.close();
  });

  it('answers 400 with details when the input fails the workflow schema', async () => {
    const res = await request(orchestrator.url)
      .post('/api/workflows/chain/runs')
      .send({ input: { items: ['x'] } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/inputSchema of workflow chain version 1/);
    expect(res.body.error.details).toEqual([
      { path: '/items/0', message: '/items/0 must be integer' },
    ]);
  });
});
