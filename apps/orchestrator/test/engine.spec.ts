import request from 'supertest';
import { defineStepHandler, FatalStepError, RetryableStepError } from '@conveyor/worker-sdk';
import { Engine } from '../src/engine/engine';
import { Transition } from '../src/engine/transition';
import { readCounter } from '@conveyor/test-support';
import { startSystem, unique, waitFor } from './harness';

jest.setTimeout(30_000);

describe('engine on SQLite and the embedded bus', () => {
  it('runs a chain with JSONata templating and returns the output expression', async () => {
    const q = unique('double');
    const sys = await startSystem({
      workflows: {
        'chain.yaml': `
name: chain
version: 1
steps:
  a: { queue: ${q}, input: '{ "n": input.n }' }
  b: { queue: ${q}, needs: [a], input: '{ "n": steps.a.n }' }
  c: { queue: ${q}, needs: [b], input: '{ "n": steps.b.n + 1 }' }
output: '{ "result": steps.c.n }'
`,
      },
      handlers: [
        defineStepHandler<{ n: number }, { n: number }>({
          queue: q,
          handle: async ({ input }) => ({ n: input.n * 2 }),
        }),
      ],
    });
    try {
      const res = await request(sys.orchestrator.url)
        .post('/api/workflows/chain/runs')
        .send({ input: { n: 3 }, waitMs: 10_000 });
      expect(res.status).toBe(200);
      expect(res.body.run.status).toBe('succeeded');
      expect(res.body.run.output).toEqual({ result: (3 * 2 * 2 + 1) * 2 });
      expect(
        res.body.run.steps.map((s: { step: string; status: string }) => `${s.step}:${s.status}`),
      ).toEqual(['a:succeeded', 'b:succeeded', 'c:succeeded']);
    } finally {
      await sys.close();
    }
  });

  it('fans out with a concurrency limit, keeps item order and joins', async () => {
    const q = unique('square');
    let inFlight = 0;
    let peak = 0;
    const sys = await startSystem({
      workflows: {
        'fan.yaml': `
name: fan
version: 1
steps:
  squares:
    forEach: input.numbers
    concurrency: 3
    queue: ${q}
    input: '{ "x": item, "i": index }'
  total: { queue: ${q}-sum, needs: [squares], input: '{ "values": steps.squares }' }
output: '{ "squares": steps.squares, "sum": steps.total }'
`,
      },
      handlers: [
        defineStepHandler<{ x: number }, number>({
          queue: q,
          concurrency: 10,
          handle: async ({ input }) => {
            inFlight++;
            peak = Math.max(peak, inFlight);
            await new Promise((r) => setTimeout(r, 5 + (input.x % 3) * 5));
            inFlight--;
            return input.x * input.x;
          },
        }),
        defineStepHandler<{ values: number[] }, number>({
          queue: `${q}-sum`,
          handle: async ({ input }) => input.values.reduce((a, b) => a + b, 0),
        }),
      ],
    });
    try {
      const numbers = Array.from({ length: 20 }, (_, i) => i + 1);
      const res = await request(sys.orchestrator.url)
        .post('/api/workflows/fan/runs')
        .send({ input: { numbers }, waitMs: 15_000 });
      expect(res.body.run.status).toBe('succeeded');
      expect(res.body.run.output.squares).toEqual(numbers.map((n) => n * n));
      expect(res.body.run.output.sum).toBe(numbers.reduce((a, n) => a + n * n, 0));
      expect(peak).toBeLessThanOrEqual(3);
      expect(peak).toBeGreaterThan(1);
      const fan = res.body.run.steps.find((s: { step: string }) => s.step === 'squares');
      expect(fan.fanOut).toEqual({ total: 20, released: 20, succeeded: 20, failed: 0 });
    } finally {
      await sys.close();
    }
  });

  /** A fan-out of `n` items whose results all reach the orchestrator at once. */
  async function burst(n: number) {
    const q = unique('burst');
    let arrived = 0;
    let releaseAll: () => void = () => undefined;
    const allArrived = new Promise<void>((resolve) => (releaseAll = resolve));
    const sys = await startSystem({
      workflows: {
        'burst.yaml': `
name: burst
version: 1
steps:
  items: { forEach: input.xs, concurrency: ${n}, queue: ${q}, input: '{ "x": item }' }
output: 'steps.items'
`,
      },
      handlers: [
        defineStepHandler<{ x: number }, number>({
          queue: q,
          concurrency: n,
          // Every item is held until all are in flight, then all finish at once: their results
          // reach the orchestrator together, while the run is busy with the first of them.
          handle: async ({ input }) => {
            if (++arrived === n) releaseAll();
            await allArrived;
            return input.x * 10;
          },
        }),
      ],
    });
    try {
      const xs = Array.from({ length: n }, (_, i) => i);
      const res = await request(sys.orchestrator.url)
        .post('/api/workflows/burst/runs')
        .send({ input: { xs }, waitMs: 15_000 });
      expect(res.body.run.status).toBe('succeeded');
      expect(res.body.run.output).toEqual(xs.map((x) => x * 10));
      const fan = res.body.run.steps.find((s: { step: string }) => s.step === 'items');
      expect(fan.fanOut).toEqual({ total: n, released: n, succeeded: n, failed: 0 });
      const text = (await request(sys.orchestrator.url).get('/metrics')).text;
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('conveyor_workflow_transition_seconds_count{') &&
            l.includes('kind="result"'),
        );
      return { resultTransactions: Number(line?.split(' ').pop() ?? 0) };
    } finally {
      await sys.close();
    }
  }

  it("applies a burst of one run's results in shared transactions, each result once", async () => {
    const n = 40;
    const { resultTransactions } = await burst(n);
    // n results, far fewer commits.
    expect(resultTransactions).toBeGreaterThan(0);
    expect(resultTransactions).toBeLessThan(n / 2);
  });

  it('applies the results of a failed shared transaction one by one, so none is lost', async () => {
    const original = Transition.prototype.applyResult;
    // One Transition per transaction: its second result is one that shares a transaction.
    const appliedIn = new WeakMap<Transition, number>();
    let injected: string | undefined;
    const spy = jest.spyOn(Transition.prototype, 'applyResult').mockImplementation(async function (
      this: Transition,
      run,
      result,
    ) {
      const k = (appliedIn.get(this) ?? 0) + 1;
      appliedIn.set(this, k);
      if (k === 2 && injected === undefined) {
        injected = result.taskId;
        throw new Error('injected failure of one result in a shared transaction');
      }
      return original.call(this, run, result);
    });
    // Deliveries handled: a result the bus had to redeliver would be handled twice.
    const deliveries = jest.spyOn(Engine.prototype, 'onResult');
    try {
      // burst() checks the run still completes with every item's output, each counted once.
      await burst(40);
      expect(injected).toBeDefined();
      // The failed transaction's results were re-applied in place, not bounced back to the bus.
      expect(deliveries).toHaveBeenCalledTimes(40);
    } finally {
      spy.mockRestore();
      deliveries.mockRestore();
    }
  });

  it('retries retryable errors with backoff, records every attempt, fails fast on fatal ones and runs onFailure', async () => {
    const flaky = unique('flaky');
    const fatal = unique('fatal');
    const notify = unique('notify');
    const calls = new Map<string, number>();
    const notified: unknown[] = [];
    const sys = await startSystem({
      workflows: {
        'retry.yaml': `
name: retry
version: 1
defaults:
  retry: { maxAttempts: 4, backoff: { initial: 10ms, max: 50ms, jitter: 0.5 } }
steps:
  flaky: { queue: ${flaky} }
  boom: { queue: ${fatal}, needs: [flaky], when: 'input.explode' }
onFailure:
  queue: ${notify}
  input: '{ "why": error.message, "flaky": steps.flaky }'
`,
      },
      handlers: [
        defineStepHandler({
          queue: flaky,
          handle: async ({ taskId, attempt }) => {
            calls.set(taskId, (calls.get(taskId) ?? 0) + 1);
            if (attempt < 3)
              throw new RetryableStepError(`not yet (attempt ${attempt})`, { code: 'WARMING_UP' });
            return { ok: attempt };
          },
        }),
        defineStepHandler({
          queue: fatal,
          handle: async () => {
            throw new FatalStepError('the document is unreadable', { code: 'UNREADABLE' });
          },
        }),
        defineStepHandler({
          queue: notify,
          handle: async ({ input }) => void notified.push(input),
        }),
      ],
    });
    try {
      const ok = await request(sys.orchestrator.url)
        .post('/api/workflows/retry/runs')
        .send({ input: { explode: false }, waitMs: 10_000 });
      expect(ok.body.run.status).toBe('succeeded');
      const flakyStep = ok.body.run.steps.find((s: { step: string }) => s.step === 'flaky');
      expect(flakyStep.attempt).toBe(3);
      expect(flakyStep.attempts.map((a: { status: string }) => a.status)).toEqual([
        'failed',
        'failed',
        'succeeded',
      ]);
      expect(flakyStep.attempts[0].error.code).toBe('WARMING_UP');
      expect(ok.body.run.steps.find((s: { step: string }) => s.step === 'boom').status).toBe(
        'skipped',
      );

      const bad = await request(sys.orchestrator.url)
        .post('/api/workflows/retry/runs')
        .send({ input: { explode: true }, waitMs: 10_000 });
      expect(bad.body.run.status).toBe('failed');
      expect(bad.body.run.error.message).toMatch(/step boom failed: the document is unreadable/);
      expect(bad.body.run.error.code).toBe('UNREADABLE');
      const boom = bad.body.run.steps.find((s: { step: string }) => s.step === 'boom');
      expect(boom.attempts).toHaveLength(1);
      expect(notified).toEqual([
        { why: expect.stringMatching(/step boom failed/), flaky: { ok: 3 } },
      ]);
    } finally {
      await sys.close();
    }
  });

  it('retries a step that times out, then fails the run with a clear error', async () => {
    const slow = unique('slow');
    let calls = 0;
    const sys = await startSystem({
      workflows: {
        'slow.yaml': `
name: slow
version: 1
steps:
  wait: { queue: ${slow}, timeout: 150ms, retry: { maxAttempts: 2, backoff: { initial: 10ms } } }
`,
      },
      handlers: [
        defineStepHandler({
          queue: slow,
          handle: async () => {
            calls++;
            await new Promise((r) => setTimeout(r, 400));
            return 'too late';
          },
        }),
      ],
    });
    try {
      const res = await request(sys.orchestrator.url)
        .post('/api/workflows/slow/runs')
        .send({ input: {}, waitMs: 10_000 });
      expect(res.body.run.status).toBe('failed');
      expect(res.body.run.error.code).toBe('STEP_TIMEOUT');
      expect(res.body.run.error.message).toMatch(
        /step wait on queue .* sent no result within 150ms \(attempt 2 of 2\).*gave up after 2 attempts/,
      );
      const step = res.body.run.steps[0];
      expect(step.attempts.map((a: { status: string }) => a.status)).toEqual([
        'timed_out',
        'timed_out',
      ]);
      // The late results arrive after the run failed and must change nothing. Both must have
      // been seen: ignored (attempt 1's as stale, as a duplicate of its timed-out attempt before
      // attempt 2 began, or for a finished run; attempt 2's for a finished run), so the checks
      // below cannot run before they arrived.
      await waitFor('both late results to be ignored', async () => {
        const ignored = await Promise.all(
          ['stale-attempt', 'duplicate', 'run-finished'].map((reason) =>
            readCounter(
              sys.orchestrator.url,
              'conveyor_workflow_ignored_results_total',
              `reason="${reason}"`,
            ),
          ),
        );
        return ignored.reduce((sum, n) => sum + n, 0) === 2;
      });
      const after = await request(sys.orchestrator.url).get(`/api/runs/${res.body.run.id}`);
      expect(after.body.status).toBe('failed');
      expect(after.body.steps[0].attempts.map((a: { status: string }) => a.status)).toEqual([
        'timed_out',
        'timed_out',
      ]);
      expect(calls).toBe(2);
    } finally {
      await sys.close();
    }
  });

  it('runs a sub-workflow per item and tolerates the configured number of failures', async () => {
    const upper = unique('upper');
    const check = unique('check');
    const sys = await startSystem({
      workflows: {
        'parent.yaml': `
name: parent
version: 1
steps:
  docs:
    forEach: input.words
    concurrency: 2
    join: { tolerateFailures: 1 }
    workflow: child
    input: '{ "word": item }'
output: 'steps.docs'
`,
        'child.yaml': `
name: child
version: 1
steps:
  check: { queue: ${check}, input: 'input' }
  upper: { queue: ${upper}, needs: [check], input: 'input.word' }
output: '{ "word": steps.upper }'
`,
      },
      handlers: [
        defineStepHandler<{ word: string }, boolean>({
          queue: check,
          handle: async ({ input }) => {
            if (input.word === 'bad') throw new FatalStepError('bad word');
            return true;
          },
        }),
        defineStepHandler<string, string>({
          queue: upper,
          handle: async ({ input }) => input.toUpperCase(),
        }),
      ],
    });
    try {
      const res = await request(sys.orchestrator.url)
        .post('/api/workflows/parent/runs')
        .send({ input: { words: ['a', 'bad', 'c', 'd'] }, waitMs: 15_000 });
      expect(res.body.run.status).toBe('succeeded');
      expect(res.body.run.output).toEqual([{ word: 'A' }, null, { word: 'C' }, { word: 'D' }]);
      const children = await request(sys.orchestrator.url).get(
        `/api/runs?parent=${res.body.run.id}`,
      );
      expect(children.body.runs.map((r: { status: string }) => r.status).sort()).toEqual([
        'failed',
        'succeeded',
        'succeeded',
        'succeeded',
      ]);

      const two = await request(sys.orchestrator.url)
        .post('/api/workflows/parent/runs')
        .send({ input: { words: ['bad', 'x', 'bad'] }, waitMs: 15_000 });
      expect(two.body.run.status).toBe('failed');
      expect(two.body.run.error.message).toMatch(
        /fan-out docs: item 2 failed \(at most 1 failed item\(s\) tolerated\)/,
      );
    } finally {
      await sys.close();
    }
  });

  it('deduplicates starts by idempotency key, validates input, ignores duplicate results, cancels', async () => {
    const q = unique('hold');
    const held: (() => void)[] = [];
    const sys = await startSystem({
      workflows: {
        'keyed.yaml': `
name: keyed
version: 1
inputSchema:
  type: object
  required: [id]
  properties: { id: { type: string } }
idempotencyKey: input.id
steps:
  hold: { queue: ${q} }
`,
      },
      handlers: [
        defineStepHandler({
          queue: q,
          handle: () => new Promise<string>((resolve) => held.push(() => resolve('done'))),
        }),
      ],
    });
    try {
      const api = request(sys.orchestrator.url);
      const first = await api.post('/api/workflows/keyed/runs').send({ input: { id: 'k1' } });
      expect(first.status).toBe(201);
      const again = await api.post('/api/workflows/keyed/runs').send({ input: { id: 'k1' } });
      expect(again.status).toBe(200);
      expect(again.body.created).toBe(false);
      expect(again.body.run.id).toBe(first.body.run.id);

      const invalid = await api.post('/api/workflows/keyed/runs').send({ input: { id: 7 } });
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.details).toEqual([{ path: '/id', message: '/id must be string' }]);
      expect((await api.post('/api/workflows/nope/runs').send({ input: {} })).status).toBe(404);
      expect((await api.post('/api/workflows/keyed/runs').send({ inptu: {} })).status).toBe(400);

      // A duplicate of an already-applied result is ignored.
      const detail = await api.get(`/api/runs/${first.body.run.id}`);
      const taskId = detail.body.steps[0].taskId;
      const result = {
        type: 'workflow.step.result' as const,
        version: 1 as const,
        taskId,
        attempt: 1,
        runId: first.body.run.id,
        step: 'hold',
        status: 'succeeded' as const,
        output: 'first',
      };
      expect(await sys.orchestrator.engine.onResult(result)).toBe('applied');
      expect(await sys.orchestrator.engine.onResult({ ...result, output: 'second' })).toBe(
        'run-finished',
      );
      const done = await api.get(`/api/runs/${first.body.run.id}`);
      expect(done.body.output).toEqual({ hold: 'first' });

      const second = await api.post('/api/workflows/keyed/runs').send({ input: { id: 'k2' } });
      const cancelled = await api
        .post(`/api/runs/${second.body.run.id}/cancel`)
        .send({ reason: 'user changed their mind' });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.run.status).toBe('cancelled');
      expect(cancelled.body.run.steps[0].status).toBe('cancelled');
      expect((await api.post(`/api/runs/${second.body.run.id}/cancel`).send({})).status).toBe(409);
    } finally {
      held.forEach((release) => release());
      await sys.close();
    }
  });
});
