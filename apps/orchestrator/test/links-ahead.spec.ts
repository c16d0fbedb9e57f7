import { randomUUID } from 'node:crypto';
import type { StepRequest, StepResult } from '@conveyor/contracts';
import { defineStepHandler, stepQueue, stepResultsQueue } from '@conveyor/worker-sdk';
import request from 'supertest';
import { BOTH_DATABASES, waitFor } from './harness';
import { onBroker } from './rabbitmq';

jest.setTimeout(60_000);

const { name, startOnBroker, cleanup } = onBroker('links-ahead');
afterAll(cleanup);

// c takes the run input (no `input`), the others the output of the step before: every link can
// be started by the worker of the one before it (chain.ts).
const workflow = (q: string) => `
name: line4
version: 1
steps:
  a: { queue: ${q} }
  b: { queue: ${q}, needs: [a], input: 'steps.a' }
  c: { queue: ${q}, needs: [b] }
  d: { queue: ${q}, needs: [c], input: 'steps.c' }
output: 'steps.d'
`;

interface AttemptView {
  attempt: number;
  status: string;
  workerId: string | null;
  finishedAt: string | null;
}
interface StepView {
  step: string;
  status: string;
  taskId: string;
  input: unknown;
  output: unknown;
  attempts: AttemptView[];
}

/** The sum of every series of a counter on /metrics (0 when there is none). */
async function counterTotal(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      total += Number(line.split(' ').pop());
  return total;
}

describe.each(BOTH_DATABASES)('chain links recorded ahead (RabbitMQ, $db)', ({ store }) => {
  it('records a stretch of links whose results came together as a link-by-link record would', async () => {
    const q = name('line');
    const db = store();
    const sys = await startOnBroker({
      workflows: { 'line4.yaml': workflow(q) },
      // No SDK worker serves the queue: this test plays the worker of every link by hand.
      handlers: [defineStepHandler({ queue: name('unused'), handle: async () => null })],
      ...(db.store ? { store: db.store } : {}),
      // Links' records wait until the run's last result comes: all four share one transaction.
      config: { chainedRecordWaitMs: 600_000 },
    });
    const requests: StepRequest[] = [];
    const sub = await sys.bus.consume(
      stepQueue(q, sys.config.stepQueueType),
      async (d) => void requests.push(d.message),
    );
    try {
      const url = sys.orchestrator.url;
      const res = await request(url)
        .post('/api/workflows/line4/runs')
        .send({ input: { n: 1 } });
      expect(res.status).toBe(201);
      await waitFor('the request of step a', async () => requests.length === 1);
      const a = requests[0] as StepRequest;
      expect(a.chain?.map((l) => l.step)).toEqual(['b', 'c', 'd']);
      const results = stepResultsQueue(a.replyTo, sys.config.stepQueueType);
      const [b, c, d] = [randomUUID(), randomUUID(), randomUUID()];
      const result = (
        taskId: string,
        step: string,
        output: unknown,
        continuedAs?: string,
      ): StepResult => ({
        type: 'workflow.step.result',
        version: 1,
        runId: a.runId,
        taskId,
        attempt: 1,
        step,
        status: 'succeeded',
        output,
        workerId: `hand-${step}`,
        ...(continuedAs ? { continuedAs } : {}),
      });
      // a, b and c only record links: they wait for company (the run's last result).
      await sys.bus.publish(results, result(a.taskId, 'a', { from: 'a' }, b));
      await sys.bus.publish(results, result(b, 'b', { from: 'b' }, c));
      await sys.bus.publish(results, result(c, 'c', { from: 'c' }, d));
      await waitFor('a, b and c delivered', async () => (await sys.bus.queueDepth(results)) === 0);
      const before = await request(url).get(`/api/runs/${a.runId}`);
      expect((before.body.steps as StepView[]).map((s) => `${s.step}:${s.status}`)).toEqual([
        'a:running',
      ]);
      await sys.bus.publish(results, result(d, 'd', { from: 'd' }));

      const run = await sys.orchestrator.engine.waitForRun(a.runId, 30_000);
      expect(run?.status).toBe('succeeded');
      const view = (await request(url).get(`/api/runs/${a.runId}`)).body as {
        output: unknown;
        steps: StepView[];
      };
      expect(view.output).toEqual({ from: 'd' });
      expect(
        view.steps.map((s) => ({
          step: s.step,
          status: s.status,
          taskId: s.taskId,
          input: s.input,
          output: s.output,
          attempts: s.attempts.map((t) => [t.attempt, t.status, t.workerId, t.finishedAt !== null]),
        })),
      ).toEqual(
        [
          { step: 'a', taskId: a.taskId, input: { n: 1 }, output: { from: 'a' } },
          { step: 'b', taskId: b, input: { from: 'a' }, output: { from: 'b' } },
          { step: 'c', taskId: c, input: { n: 1 }, output: { from: 'c' } },
          { step: 'd', taskId: d, input: { from: 'c' }, output: { from: 'd' } },
        ].map((s) => ({
          ...s,
          status: 'succeeded',
          attempts: [[1, 'succeeded', `hand-${s.step}`, true]],
        })),
      );
      // b, c and d went in with a's record, succeeded, in one stretch.
      expect(await counterTotal(url, 'conveyor_workflow_links_recorded_ahead_total')).toBe(3);
      expect(await counterTotal(url, 'conveyor_workflow_steps_continued_total')).toBe(3);
      expect(await counterTotal(url, 'conveyor_workflow_ignored_results_total')).toBe(0);
    } finally {
      await sub.cancel();
      await sys.close();
      await db.cleanup();
    }
  });
});
