import { randomUUID } from 'node:crypto';
import type { StepRequest, StepResult } from '@conveyor/contracts';
import { defineStepHandler, stepQueue, stepResultsQueue } from '@conveyor/worker-sdk';
import request from 'supertest';
import { MAX_HELD_EARLY } from '../src/engine/results-intake';
import { waitFor } from './harness';
import { onBroker, queuesUnder } from './rabbitmq';

jest.setTimeout(120_000);

/** Every queue and exchange of this file is named under one prefix, deleted in afterAll. */
const { prefix, name, startOnBroker, cleanup } = onBroker('held-results');

afterAll(async () => {
  await cleanup();
  // Requeued copies went back to the results queue: nothing of this file may stay behind.
  expect(await queuesUnder(prefix)).toEqual([]);
});

/** conveyor_workflow_ignored_results_total by reason. */
async function ignoredResults(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = line.match(
      /^conveyor_workflow_ignored_results_total\{[^}]*reason="([^"]+)"[^}]*\} (\S+)$/,
    );
    if (m?.[1] && m[2]) counts.set(m[1], (counts.get(m[1]) ?? 0) + Number(m[2]));
  }
  return counts;
}

interface StepView {
  step: string;
  status: string;
  taskId: string;
  attempts: { attempt: number }[];
}

describe('early results beyond the held limit (RabbitMQ, SQLite)', () => {
  // More runs than results that may be held at once (half the results prefetch): the rest of
  // the early results must go to the back of the queue, and come back until they apply.
  const RUNS = MAX_HELD_EARLY + 72;

  it(`requeues early results beyond ${MAX_HELD_EARLY} held, and every run completes with each result applied once`, async () => {
    const qa = name('first');
    const qb = name('second');
    const sys = await startOnBroker({
      workflows: {
        'pair.yaml': `
name: pair
version: 1
steps:
  a: { queue: ${qa} }
  b: { queue: ${qb}, needs: [a], input: 'steps.a', retry: { maxAttempts: 1 } }
output: 'steps.b'
`,
      },
      // No SDK worker serves either queue: this test plays the workers by hand.
      handlers: [defineStepHandler({ queue: name('unused'), handle: async () => null })],
    });
    const requests: StepRequest[] = [];
    const sub = await sys.bus.consume(
      stepQueue(qa, sys.config.stepQueueType),
      async (d) => void requests.push(d.message),
    );
    try {
      const url = sys.orchestrator.url;
      for (let i = 0; i < RUNS; i += 25) {
        await Promise.all(
          Array.from({ length: Math.min(25, RUNS - i) }, async (_, k) => {
            const res = await request(url)
              .post('/api/workflows/pair/runs')
              .send({ input: { n: i + k } });
            expect(res.status).toBe(201);
          }),
        );
      }
      await waitFor('the request of step a of every run', async () => requests.length === RUNS);
      const first = requests[0];
      if (!first) throw new Error('no request');
      const results = stepResultsQueue(first.replyTo, sys.config.stepQueueType);
      const runs = requests.map((a) => {
        expect(a.chain?.map((l) => l.step)).toEqual(['b']);
        return { a, continuedAs: randomUUID(), output: `b-of-${a.runId}` };
      });
      const result = (
        a: StepRequest,
        fields: { taskId: string; step: string; output: string; continuedAs?: string },
      ): StepResult => ({
        type: 'workflow.step.result',
        version: 1,
        runId: a.runId,
        attempt: 1,
        status: 'succeeded',
        ...fields,
      });

      // Every run's b result first: each overtakes the a result that records b.
      await Promise.all(
        runs.map(({ a, continuedAs, output }) =>
          sys.bus.publish(results, result(a, { taskId: continuedAs, step: 'b', output })),
        ),
      );
      // The limit was reached: early results beyond it went back to the queue, not held.
      await waitFor(
        'early results requeued',
        async () => ((await ignoredResults(url)).get('early-requeued') ?? 0) > 0,
      );
      // Held or requeued, none of them applied yet: every run still waits for its a result.
      const finished = await sys.orchestrator.engine.db
        .selectFrom('runs')
        .select('id')
        .where('status', '!=', 'running')
        .execute();
      expect(finished).toEqual([]);

      // Now the a results that name b's task: held and requeued b results apply after them.
      await Promise.all(
        runs.map(({ a, continuedAs }) =>
          sys.bus.publish(
            results,
            result(a, { taskId: a.taskId, step: 'a', output: 'a-done', continuedAs }),
          ),
        ),
      );
      for (const { a, continuedAs, output } of runs) {
        const run = await sys.orchestrator.engine.waitForRun(a.runId, 30_000);
        expect(run?.status).toBe('succeeded');
        const view = await request(url).get(`/api/runs/${a.runId}`);
        expect(view.body.output).toBe(output);
        const steps = view.body.steps as StepView[];
        expect(steps.map((s) => `${s.step}:${s.status}:${s.attempts.length}`)).toEqual([
          'a:succeeded:1',
          'b:succeeded:1',
        ]);
        expect(steps.find((s) => s.step === 'b')?.taskId).toBe(continuedAs);
      }

      // Nothing was dropped (unknown, early past its wait) or seen twice (duplicate, stale):
      // the only results not applied at once are the requeued ones, and the queue is empty.
      const ignored = await ignoredResults(url);
      expect(ignored.get('early-requeued')).toBeGreaterThan(0);
      expect([...ignored].filter(([reason, n]) => reason !== 'early-requeued' && n > 0)).toEqual(
        [],
      );
      await waitFor(
        'the results queue to drain',
        async () => (await sys.bus.queueDepth(results)) === 0,
      );
      // b's requests came from the "worker" above: the orchestrator sent none.
      expect(await sys.bus.queueDepth(stepQueue(qb, sys.config.stepQueueType))).toBe(0);
    } finally {
      await sub.cancel();
      await sys.close();
    }
  });
});
