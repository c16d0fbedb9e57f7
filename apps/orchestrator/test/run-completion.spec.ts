import { defineStepHandler } from '@conveyor/worker-sdk';
import request from 'supertest';
import { BOTH_DATABASES } from './harness';
import { onBroker } from './rabbitmq';

jest.setTimeout(60_000);

const { name, startOnBroker, cleanup } = onBroker('run-completion');
afterAll(cleanup);

// Two branches that end at different times, and a step skipped by `when`: the run completes
// when the slower branch ends, with every step's output (a skipped one as null).
const workflow = (q: string) => `
name: branches
version: 1
steps:
  start: { queue: ${q} }
  fast: { queue: ${q}, needs: [start], input: '{ "delay": 0 }' }
  slow: { queue: ${q}, needs: [start], input: '{ "delay": 300 }' }
  never: { queue: ${q}, needs: [fast], when: 'steps.fast.delay > 0' }
`;

describe.each(BOTH_DATABASES)('a run’s completion (RabbitMQ, $db)', ({ store }) => {
  it('completes when its last step ends, with the outputs of every step (skipped: null)', async () => {
    const q = name('branches');
    const db = store();
    const sys = await startOnBroker({
      workflows: { 'branches.yaml': workflow(q) },
      handlers: [
        defineStepHandler<{ delay?: number } | null>({
          queue: q,
          concurrency: 4,
          handle: async ({ step, input }) => {
            const delay = input?.delay ?? 0;
            await new Promise((resolve) => setTimeout(resolve, delay));
            return { step, delay };
          },
        }),
      ],
      ...(db.store ? { store: db.store } : {}),
    });
    try {
      const res = await request(sys.orchestrator.url)
        .post('/api/workflows/branches/runs')
        .send({ input: { n: 1 }, waitMs: 20_000 });
      expect(res.status).toBe(200);
      expect(res.body.run.status).toBe('succeeded');
      expect(res.body.run.output).toEqual({
        start: { step: 'start', delay: 0 },
        fast: { step: 'fast', delay: 0 },
        slow: { step: 'slow', delay: 300 },
        never: null,
      });
      const steps = res.body.run.steps as { step: string; status: string }[];
      expect(Object.fromEntries(steps.map((s) => [s.step, s.status]))).toEqual({
        start: 'succeeded',
        fast: 'succeeded',
        slow: 'succeeded',
        never: 'skipped',
      });
    } finally {
      await sys.close();
      await db.cleanup();
    }
  });
});
