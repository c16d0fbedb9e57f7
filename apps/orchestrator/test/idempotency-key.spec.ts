import type { Bus } from '@conveyor/bus';
import { stepIdempotencyKey } from '@conveyor/contracts';
import {
  defineStepHandler,
  RetryableStepError,
  startStepWorker,
  type StepContext,
} from '@conveyor/worker-sdk';
import request from 'supertest';
import { quietLogger, waitFor } from './harness';
import { onBroker } from './rabbitmq';

jest.setTimeout(60_000);

// StepRequest.idempotencyKey (protocol §2): one key per step of a run (per fan-out item), equal
// across the orchestrator's retries and across the continuations a re-run of a chain publishes
// under new task ids — the case where deduplicating side effects on taskId runs them twice.

const { name, startOnBroker, cleanup } = onBroker('idem-key');

afterAll(cleanup);

interface Seen {
  step: string;
  taskId: string;
  attempt: number;
  itemIndex: number | undefined;
  /** What the request carried. */
  sent: string | undefined;
  /** What the SDK handed the handler. */
  key: string;
}

const record = (seen: Seen[], ctx: StepContext<unknown>) =>
  seen.push({
    step: ctx.step,
    taskId: ctx.taskId,
    attempt: ctx.attempt,
    itemIndex: ctx.itemIndex,
    sent: ctx.request.idempotencyKey,
    key: ctx.idempotencyKey,
  });

it('is equal across the retries of a step and names each fan-out item', async () => {
  const q = name('retried');
  const seen: Seen[] = [];
  let failures = 0;
  const sys = await startOnBroker({
    workflows: {
      'retried.yaml': `
name: retried
version: 1
steps:
  a:
    queue: ${q}
    retry: { maxAttempts: 3, backoff: { initial: 10ms, max: 20ms } }
  f: { queue: ${q}, needs: [a], forEach: '[1, 2]' }
`,
    },
    handlers: [
      defineStepHandler({
        queue: q,
        handle: async (ctx) => {
          record(seen, ctx);
          if (ctx.step === 'a' && failures++ === 0) throw new RetryableStepError('warming up');
          return ctx.input;
        },
      }),
    ],
    // No chain here: retries only.
    config: { chainLinks: 0 },
  });
  try {
    const res = await request(sys.orchestrator.url)
      .post('/api/workflows/retried/runs')
      .send({ input: {}, waitMs: 20_000 });
    expect(res.body.run.status).toBe('succeeded');
    const runId = res.body.run.id as string;
    const a = seen.filter((s) => s.step === 'a');
    expect(a.map((s) => s.attempt)).toEqual([1, 2]);
    expect(new Set(a.map((s) => s.taskId)).size).toBe(1);
    for (const s of a) {
      expect(s.sent).toBe(`${runId}:a`);
      expect(s.key).toBe(s.sent);
    }
    const items = seen
      .filter((s) => s.step === 'f')
      .sort((x, y) => (x.itemIndex ?? -1) - (y.itemIndex ?? -1));
    expect(items.map((s) => s.sent)).toEqual([`${runId}:f:0`, `${runId}:f:1`]);
    expect(items.map((s) => s.sent)).toEqual(
      items.map((s) => stepIdempotencyKey(runId, 'f', s.itemIndex)),
    );
  } finally {
    await sys.close();
  }
});

it('is equal across the continuations of a chain that ran again (new task ids, same key)', async () => {
  const q = name('rerun');
  const seen: Seen[] = [];
  const sys = await startOnBroker({
    workflows: {
      'rerun.yaml': `
name: rerun
version: 1
steps:
  a: { queue: ${q}, input: 'input' }
  b: { queue: ${q}, needs: [a], input: 'steps.a' }
  c: { queue: ${q}, needs: [b], input: 'steps.b' }
output: 'steps.c'
`,
    },
    // The orchestrator's own worker serves another queue: the one below plays a worker that
    // dies after starting b but before its result for a gets out.
    handlers: [defineStepHandler({ queue: name('unused'), handle: async () => null })],
  });
  let lostResult = false;
  const flaky = new Proxy(sys.bus, {
    get(target, prop, receiver) {
      if (prop !== 'publish') return Reflect.get(target, prop, receiver) as unknown;
      const publish: Bus['publish'] = async (queue, message, options) => {
        const m = message as { type?: string; step?: string };
        if (!lostResult && m.type === 'workflow.step.result' && m.step === 'a') {
          // b's request is out and confirmed; a's result is not: the request of a is redelivered.
          lostResult = true;
          throw new Error('connection lost (test)');
        }
        return target.publish(queue, message, options);
      };
      return publish;
    },
  });
  const worker = await startStepWorker({
    bus: flaky,
    logger: quietLogger(),
    queueType: sys.config.stepQueueType,
    handlers: [
      defineStepHandler({
        queue: q,
        handle: async (ctx) => {
          record(seen, ctx);
          return { ...(ctx.input as object), [ctx.step]: true };
        },
      }),
    ],
  });
  try {
    const res = await request(sys.orchestrator.url)
      .post('/api/workflows/rerun/runs')
      .send({ input: { n: 1 }, waitMs: 30_000 });
    expect(res.body.run.status).toBe('succeeded');
    expect(res.body.run.output).toEqual({ n: 1, a: true, b: true, c: true });
    const runId = res.body.run.id as string;
    expect(lostResult).toBe(true);
    // Each re-run continuation runs b, then c, again: wait until both copies of c are in.
    await waitFor('both continuations of c', async () =>
      seen.filter((s) => s.step === 'c').length >= 2 ? true : undefined,
    );
    for (const step of ['a', 'b', 'c']) {
      const runs = seen.filter((s) => s.step === step);
      expect(runs).toHaveLength(2);
      // b and c were started by workers, each time under a new task id …
      if (step !== 'a') expect(runs[0]?.taskId).not.toBe(runs[1]?.taskId);
      // … with the key of their step of this run, carried by the chained request.
      expect(runs.map((s) => s.sent)).toEqual([`${runId}:${step}`, `${runId}:${step}`]);
      expect(runs.map((s) => s.key)).toEqual([`${runId}:${step}`, `${runId}:${step}`]);
    }
  } finally {
    await worker.close();
    await sys.close();
  }
});
