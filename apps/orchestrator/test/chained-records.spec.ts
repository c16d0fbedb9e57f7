import type { StepResult } from '@conveyor/contracts';
import { defineStepHandler } from '@conveyor/worker-sdk';
import request from 'supertest';
import { loadWorkflowSources } from '../src/definitions/loader';
import { chainedOnly } from '../src/engine/chain';
import { BOTH_DATABASES, waitFor } from './harness';
import { onBroker } from './rabbitmq';

jest.setTimeout(60_000);

// CHAIN_RECORD_WAIT_MS: a chain link's result, whose successor the worker already started, may
// wait to share the transaction of a later result (results-intake.ts). These tests pin what may
// wait, that the wait is bounded, and that a result someone waits for takes the waiting along.

const { name, startOnBroker, cleanup } = onBroker('chained-records');
afterAll(cleanup);

/** a → b → c: b and c are chain links (each the only dependent of the step before). */
const lineWorkflow = (q: string) => `
name: line
version: 1
steps:
  a: { queue: ${q} }
  b: { queue: ${q}, needs: [a], input: 'steps.a' }
  c: { queue: ${q}, needs: [b], input: 'steps.b' }
output: 'steps.c'
`;

/** a → b and a → c: b is a's chain link, c a second dependent the orchestrator dispatches. */
const forkWorkflow = (q: string) => `
name: fork
version: 1
steps:
  a: { queue: ${q} }
  b: { queue: ${q}, needs: [a], input: 'steps.a' }
  c: { queue: ${q}, needs: [a], input: 'steps.a' }
`;

function definition(yaml: string) {
  const loaded = loadWorkflowSources([{ file: 'w.yaml', text: yaml }]);
  expect(loaded.problems).toEqual([]);
  const def = loaded.definitions[0];
  if (!def) throw new Error('no definition');
  return def;
}

const succeeded = (step: string, continuedAs?: string): StepResult => ({
  type: 'workflow.step.result',
  version: 1,
  taskId: '0190a0a0-0000-7000-8000-000000000001',
  attempt: 1,
  runId: '0190a0a0-0000-7000-8000-000000000002',
  step,
  status: 'succeeded',
  output: null,
  ...(continuedAs ? { continuedAs } : {}),
});

describe('chainedOnly: which results only record a chain link', () => {
  const next = '0190a0a0-0000-7000-8000-000000000003';
  const line = definition(lineWorkflow('q'));
  const fork = definition(forkWorkflow('q'));

  it('a continued link whose successor is its only dependent', () => {
    expect(chainedOnly(line, succeeded('a', next))).toBe(true);
    expect(chainedOnly(line, succeeded('b', next))).toBe(true);
  });

  it('not a result the orchestrator must act on', () => {
    // Not continued: the orchestrator dispatches b.
    expect(chainedOnly(line, succeeded('a'))).toBe(false);
    // The last step completes the run.
    expect(chainedOnly(line, succeeded('c', next))).toBe(false);
    // c, the other dependent of a, is dispatched by the orchestrator.
    expect(chainedOnly(fork, succeeded('a', next))).toBe(false);
    const failed: StepResult = {
      ...succeeded('a'),
      status: 'failed',
      error: { message: 'no', retryable: true },
    };
    expect(chainedOnly(line, failed)).toBe(false);
  });
});

interface StepView {
  step: string;
  status: string;
}

const runFinished = async (url: string, runId: string) => {
  const res = await request(url).get(`/api/runs/${runId}`);
  return res.body.status !== 'running' && res.body;
};

const stepStatus = async (url: string, runId: string, step: string) => {
  const res = await request(url).get(`/api/runs/${runId}`);
  return (res.body.steps as StepView[]).find((s) => s.step === step)?.status;
};

/** A promise and its resolver: the handler of `b` waits on it. */
function gate(): { opened: Promise<void>; open(): void } {
  const resolvers: (() => void)[] = [];
  const opened = new Promise<void>((resolve) => resolvers.push(resolve));
  return { opened, open: () => resolvers.forEach((r) => r()) };
}

describe.each(BOTH_DATABASES)('records of chain links (RabbitMQ, $db)', ({ store }) => {
  /** Starts a run of `workflow` ('line' or 'fork') whose step b waits until released. */
  async function withRun(
    workflow: 'line' | 'fork',
    waitMs: number,
    body: (sys: {
      url: string;
      runId: string;
      bStarted: Promise<void>;
      releaseB(): void;
    }) => Promise<void>,
  ): Promise<void> {
    const q = name(workflow);
    const started = gate();
    const release = gate();
    const db = store();
    const sys = await startOnBroker({
      workflows: {
        [`${workflow}.yaml`]: (workflow === 'line' ? lineWorkflow : forkWorkflow)(q),
      },
      handlers: [
        defineStepHandler({
          queue: q,
          concurrency: 4,
          handle: async ({ step, input }) => {
            if (step === 'b') {
              started.open();
              await release.opened;
            }
            return { step, input };
          },
        }),
      ],
      ...(db.store ? { store: db.store } : {}),
      config: { chainedRecordWaitMs: waitMs },
    });
    try {
      const url = sys.orchestrator.url;
      const res = await request(url)
        .post(`/api/workflows/${workflow}/runs`)
        .send({ input: { n: 1 } });
      expect(res.status).toBe(201);
      await body({
        url,
        runId: res.body.run.id as string,
        bStarted: started.opened,
        releaseB: release.open,
      });
    } finally {
      release.open();
      await sys.close();
      await db.cleanup();
    }
  }

  it('a link whose successor runs is recorded within the wait, not at once', async () => {
    await withRun('line', 1_500, async ({ url, runId, bStarted }) => {
      await bStarted;
      const startedAt = Date.now();
      // b runs (its worker started it), yet a's success waits for company…
      expect(await stepStatus(url, runId, 'a')).not.toBe('succeeded');
      // …for at most the wait: nothing else comes while b is held, so it is recorded alone.
      await waitFor('a recorded', async () => (await stepStatus(url, runId, 'a')) === 'succeeded');
      expect(Date.now() - startedAt).toBeLessThan(15_000);
      expect(await stepStatus(url, runId, 'b')).toBe('running');
    });
  });

  it('the result that completes the run takes the waiting records along at once', async () => {
    // Far longer than the test may take: only the last result can have recorded a and b.
    await withRun('line', 600_000, async ({ url, runId, bStarted, releaseB }) => {
      await bStarted;
      expect(await stepStatus(url, runId, 'a')).not.toBe('succeeded');
      releaseB();
      const run = await waitFor('the run to finish', () => runFinished(url, runId));
      expect(run.status).toBe('succeeded');
      const steps = run.steps as StepView[];
      expect(steps.map((s) => [s.step, s.status])).toEqual([
        ['a', 'succeeded'],
        ['b', 'succeeded'],
        ['c', 'succeeded'],
      ]);
      expect(run.output).toEqual({
        step: 'c',
        input: { step: 'b', input: { step: 'a', input: { n: 1 } } },
      });
    });
  });

  it('a link with another dependent is not held: that dependent starts at once', async () => {
    await withRun('fork', 600_000, async ({ url, runId, releaseB }) => {
      // c depends on a's record; with a held for the wait, c would not run while b is held.
      await waitFor('c done', async () => (await stepStatus(url, runId, 'c')) === 'succeeded');
      releaseB();
      const run = await waitFor('the run to finish', () => runFinished(url, runId));
      expect(run.status).toBe('succeeded');
    });
  });
});
