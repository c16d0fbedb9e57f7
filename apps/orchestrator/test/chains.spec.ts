import { randomUUID } from 'node:crypto';
import type { StepRequest, StepResult } from '@conveyor/contracts';
import {
  defineStepHandler,
  RetryableStepError,
  runEventsTopic,
  stepQueue,
  stepResultsQueue,
} from '@conveyor/worker-sdk';
import request from 'supertest';
import { readCounter } from '@conveyor/test-support';
import { waitFor } from './harness';
import { onBroker } from './rabbitmq';

jest.setTimeout(60_000);

/** Every queue and exchange of this file is named under one prefix, deleted in afterAll. */
const { name, startOnBroker, cleanup } = onBroker('chains');

afterAll(cleanup);

const continued = (url: string, queue: string) =>
  readCounter(url, 'conveyor_workflow_steps_continued_total', `queue="${queue}"`);
const unknownResults = (url: string) =>
  readCounter(url, 'conveyor_workflow_ignored_results_total', 'reason="unknown-task"');
const finishedRunResults = (url: string) =>
  readCounter(url, 'conveyor_workflow_ignored_results_total', 'reason="run-finished"');

interface StepView {
  step: string;
  status: string;
  taskId: string;
  attempts: { attempt: number }[];
}

describe('chains: workers start the next step themselves (RabbitMQ, SQLite)', () => {
  const chainWorkflow = (q: string) => `
name: chained
version: 1
steps:
  a: { queue: ${q}, input: 'input' }
  b: { queue: ${q}, needs: [a], input: 'steps.a' }
  c: { queue: ${q}, needs: [b] }
  d: { queue: ${q}, needs: [c], input: '{ "wrapped": steps.c }' }
  e: { queue: ${q}, needs: [d], input: 'steps.d' }
output: 'steps.e'
`;
  const echo = (q: string) =>
    defineStepHandler({
      queue: q,
      handle: async ({ step, input }) => ({ step, input }),
    });
  const expectedOutput = {
    step: 'e',
    input: {
      step: 'd',
      input: { wrapped: { step: 'c', input: { n: 1 } } },
    },
  };

  it.each([
    // b (output of a) and c (run input) follow from a; d's input needs JSONata, so the
    // orchestrator dispatches it, with e (output of d) in its chain.
    { chainLinks: 16, expected: 3 },
    { chainLinks: 0, expected: 0 },
  ])(
    'records every step of a chain once, with $expected continued (CHAIN_LINKS=$chainLinks)',
    async ({ chainLinks, expected }) => {
      const q = name('chain-echo');
      const sys = await startOnBroker({
        workflows: { 'chained.yaml': chainWorkflow(q) },
        handlers: [echo(q)],
        config: { chainLinks },
      });
      try {
        const res = await request(sys.orchestrator.url)
          .post('/api/workflows/chained/runs')
          .send({ input: { n: 1 }, waitMs: 20_000 });
        expect(res.status).toBe(200);
        expect(res.body.run.status).toBe('succeeded');
        expect(res.body.run.output).toEqual(expectedOutput);
        const steps = res.body.run.steps as StepView[];
        expect(steps.map((s) => `${s.step}:${s.status}:${s.attempts.length}`)).toEqual([
          'a:succeeded:1',
          'b:succeeded:1',
          'c:succeeded:1',
          'd:succeeded:1',
          'e:succeeded:1',
        ]);
        // Every id is a time-ordered UUID (v7): the run's and the tasks the orchestrator made
        // (store/ids.ts), and with chains also b, c and e, which the TypeScript worker SDK named
        // (protocol §7.2 recommends v7 for a chain link's task id).
        const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
        expect(res.body.run.id).toMatch(v7);
        for (const s of steps) expect(s.taskId).toMatch(v7);
        expect(await continued(sys.orchestrator.url, q)).toBe(expected);
        expect(await unknownResults(sys.orchestrator.url)).toBe(0);
      } finally {
        await sys.close();
      }
    },
  );

  it('holds a result that overtook the one recording its step, and drops a stale continuation', async () => {
    const qa = name('chain-first');
    const qb = name('chain-second');
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
      handlers: [echo(name('unused'))],
    });
    const requests: StepRequest[] = [];
    await sys.bus.assertQueue(stepQueue(qa, sys.config.stepQueueType));
    const sub = await sys.bus.consume(
      stepQueue(qa, sys.config.stepQueueType),
      async (d) => void requests.push(d.message),
    );
    try {
      const started = await request(sys.orchestrator.url)
        .post('/api/workflows/pair/runs')
        .send({ input: { n: 1 } });
      expect(started.status).toBe(201);
      const a = await waitFor('the request of step a', async () => requests[0]);
      expect(a.chain).toEqual([
        { step: 'b', queue: qb, timeoutMs: expect.any(Number), input: { from: 'output' } },
      ]);
      const results = stepResultsQueue(a.replyTo, sys.config.stepQueueType);
      const base = {
        type: 'workflow.step.result',
        version: 1,
        runId: a.runId,
        attempt: 1,
      } as const;
      const continuedAs = randomUUID();
      // A continuation of a re-run of a whose result is never accepted, then b's result under
      // the accepted id — both before the result of a that names it.
      const stale: StepResult = {
        ...base,
        taskId: randomUUID(),
        step: 'b',
        status: 'succeeded',
        output: 'stale',
      };
      const early: StepResult = {
        ...base,
        taskId: continuedAs,
        step: 'b',
        status: 'succeeded',
        output: 'b-done',
      };
      await sys.bus.publish(results, stale);
      await sys.bus.publish(results, early);
      // A marker behind them: a result of a's wrong attempt, ignored as stale. Results are
      // taken in queue order and applied in that order (group commit), so once the marker is
      // counted both results above were looked at, and neither may have finished b nor been
      // dropped as unknown.
      await sys.bus.publish(results, {
        ...base,
        attempt: 2,
        taskId: a.taskId,
        step: 'a',
        status: 'succeeded',
        output: 'marker',
      });
      await waitFor(
        'the marker result to be ignored as a stale attempt',
        async () =>
          (await readCounter(
            sys.orchestrator.url,
            'conveyor_workflow_ignored_results_total',
            'reason="stale-attempt"',
          )) === 1,
      );
      const running = await request(sys.orchestrator.url).get(`/api/runs/${a.runId}`);
      expect(running.body.status).toBe('running');
      expect(await unknownResults(sys.orchestrator.url)).toBe(0);
      await sys.bus.publish(results, {
        ...base,
        taskId: a.taskId,
        step: 'a',
        status: 'succeeded',
        output: 'a-done',
        continuedAs,
      });
      const done = await waitFor('the run to finish', async () => {
        const r = await request(sys.orchestrator.url).get(`/api/runs/${a.runId}`);
        return r.body.status !== 'running' && r.body;
      });
      expect(done.status).toBe('succeeded');
      expect(done.output).toBe('b-done');
      const b = (done.steps as StepView[]).find((s) => s.step === 'b');
      expect(b?.taskId).toBe(continuedAs);
      expect(await continued(sys.orchestrator.url, qb)).toBe(1);
      // The stale continuation is held like an early one until a commit of its run wakes it. It
      // is then dropped: as unknown while the run still runs, or for a finished run when b's
      // result (woken by the same commit) was applied first; which one is a race.
      await waitFor('the stale continuation to be dropped', async () => {
        const url = sys.orchestrator.url;
        return (await unknownResults(url)) + (await finishedRunResults(url)) === 1;
      });
      // b's request came from the "worker" above: the orchestrator sent none.
      expect(await sys.bus.queueDepth(stepQueue(qb, sys.config.stepQueueType))).toBe(0);
    } finally {
      await sub.cancel();
      await sys.close();
    }
  });

  it('publishes step events only while someone is bound to receive them', async () => {
    const q = name('events-echo');
    const sys = await startOnBroker({
      workflows: { 'chained.yaml': chainWorkflow(q) },
      handlers: [echo(q)],
    });
    const runChain = async () => {
      const res = await request(sys.orchestrator.url)
        .post('/api/workflows/chained/runs')
        .send({ input: { n: 1 }, waitMs: 20_000 });
      expect(res.body.run.status).toBe('succeeded');
      return res.body.run.id as string;
    };
    const skipped = () =>
      readCounter(sys.orchestrator.url, 'conveyor_workflow_step_events_skipped_total', '');
    try {
      for (let i = 0; i < 3; i++) await runChain();
      // Each routing key's first event went out and came back unrouted; the rest were skipped.
      expect(await skipped()).toBeGreaterThan(10);
      const heard: string[] = [];
      const sub = await sys.bus.subscribe(
        runEventsTopic(sys.config.eventsExchange),
        async (d) =>
          void heard.push(
            `${d.message.event}:${'step' in d.message ? d.message.step : ''}:${d.message.runId}`,
          ),
        { pattern: 'step.succeeded.#' },
      );
      try {
        const before = await skipped();
        // Each routing key is skipped for up to a second after its last unrouted event; when
        // that ends depends on the machine's pace. Runs go on until one is heard whole (its
        // events can still arrive after its HTTP response, so earlier runs are looked at again).
        const runs: string[] = [];
        const heardOf = (id: string) => heard.filter((h) => h.endsWith(id));
        const runId = await waitFor(
          'a run whose five step events are all heard',
          async () => {
            const whole = runs.find((id) => heardOf(id).length === 5);
            if (whole === undefined) runs.push(await runChain());
            return whole;
          },
          40_000,
        );
        expect(heard.filter((h) => h.endsWith(runId)).sort()).toEqual(
          ['a', 'b', 'c', 'd', 'e'].map((step) => `step.succeeded:${step}:${runId}`),
        );
        // step.dispatched still has no listener: still skipped.
        expect(await skipped()).toBeGreaterThan(before);
      } finally {
        await sub.cancel();
      }
    } finally {
      await sys.close();
    }
  });

  it('retries a failed link from the orchestrator, with its own chain, and continues from there', async () => {
    const q = name('chain-flaky');
    let failures = 0;
    const sys = await startOnBroker({
      workflows: {
        'flaky.yaml': `
name: flaky
version: 1
steps:
  a: { queue: ${q}, input: 'input' }
  b:
    queue: ${q}
    needs: [a]
    input: 'steps.a'
    retry: { maxAttempts: 3, backoff: { initial: 10ms, max: 20ms } }
  c: { queue: ${q}, needs: [b], input: 'steps.b' }
output: 'steps.c'
`,
      },
      handlers: [
        defineStepHandler({
          queue: q,
          handle: async ({ step, input }) => {
            if (step === 'b' && failures++ === 0) throw new RetryableStepError('warming up');
            return { step, input };
          },
        }),
      ],
    });
    try {
      const res = await request(sys.orchestrator.url)
        .post('/api/workflows/flaky/runs')
        .send({ input: { n: 1 }, waitMs: 20_000 });
      expect(res.body.run.status).toBe('succeeded');
      expect(res.body.run.output).toEqual({
        step: 'c',
        input: { step: 'b', input: { step: 'a', input: { n: 1 } } },
      });
      const attempts = (res.body.run.steps as StepView[]).map(
        (s) => `${s.step}:${s.attempts.length}`,
      );
      expect(attempts).toEqual(['a:1', 'b:2', 'c:1']);
      // b started by a's worker; attempt 2 of b sent by the orchestrator with c in its chain.
      expect(await continued(sys.orchestrator.url, q)).toBe(2);
    } finally {
      await sys.close();
    }
  });

  it('stops recording a cancelled run; links already handed to workers run out and are ignored', async () => {
    const q = name('chain-cancel');
    const ran: string[] = [];
    let releaseB: () => void = () => undefined;
    const bStarted = new Promise<void>((resolve) => {
      releaseB = resolve;
    });
    let letBFinish: () => void = () => undefined;
    const bMayFinish = new Promise<void>((resolve) => (letBFinish = resolve));
    const sys = await startOnBroker({
      workflows: {
        'long.yaml': `
name: long
version: 1
steps:
  a: { queue: ${q} }
  b: { queue: ${q}, needs: [a], input: 'steps.a' }
  c: { queue: ${q}, needs: [b], input: 'steps.b' }
`,
      },
      handlers: [
        defineStepHandler({
          queue: q,
          handle: async ({ step }) => {
            ran.push(step);
            if (step === 'b') {
              releaseB();
              await bMayFinish;
            }
            return step;
          },
        }),
      ],
    });
    try {
      const started = await request(sys.orchestrator.url)
        .post('/api/workflows/long/runs')
        .send({ input: {} });
      const runId = started.body.run.id as string;
      await bStarted;
      const cancelled = await request(sys.orchestrator.url)
        .post(`/api/runs/${runId}/cancel`)
        .send({ reason: 'test' });
      expect(cancelled.status).toBeLessThan(300);
      letBFinish();
      // b's worker still starts c (it was handed the chain); c's result comes back ignored.
      await waitFor('c to run', async () => ran.includes('c'));
      await waitFor("c's result to be ignored", async () =>
        (await readCounter(
          sys.orchestrator.url,
          'conveyor_workflow_ignored_results_total',
          'reason="run-finished"',
        )) >= 2
          ? true
          : undefined,
      );
      const run = (await request(sys.orchestrator.url).get(`/api/runs/${runId}`)).body;
      expect(run.status).toBe('cancelled');
      // What was recorded when the cancel came: a (and b, if a's result had been applied by
      // then; b ran from a's chain either way); never c.
      const steps = run.steps as StepView[];
      expect(steps.map((s) => s.step)).not.toContain('c');
      for (const s of steps) expect(['succeeded', 'cancelled']).toContain(s.status);
      expect(ran).toEqual(['a', 'b', 'c']);
    } finally {
      await sys.close();
    }
  });
});
