import { createBus } from '@conveyor/bus';
import { defineStepHandler, startStepWorker } from '@conveyor/worker-sdk';
import request from 'supertest';
import { start } from '../src/main';
import { AMQP_URL, postgresStore, quietLogger, testConfig, waitFor, workflowDir } from './harness';
import { deleteTopology, runPrefix } from './rabbitmq';

jest.setTimeout(120_000);

const prefix = runPrefix('replicas');

afterAll(() => deleteTopology(prefix));

describe('two orchestrator replicas on one PostgreSQL schema and RabbitMQ', () => {
  it('never schedule a step twice and never lose a transition', async () => {
    const wf = workflowDir({
      'bundle.yaml': `
name: bundle
version: 1
steps:
  pages:
    forEach: input.pages
    concurrency: 5
    queue: ${prefix}-ocr
    input: '{ "page": item }'
  split: { queue: ${prefix}-split, needs: [pages], input: '{ "texts": steps.pages }' }
  docs:
    needs: [split]
    forEach: steps.split
    concurrency: 3
    workflow: doc
output: 'steps.docs'
`,
      'doc.yaml': `
name: doc
version: 1
steps:
  a: { queue: ${prefix}-classify, input: 'input' }
  b: { queue: ${prefix}-extract, needs: [a], input: '{ "label": steps.a, "doc": $$.input }' }
  c: { queue: ${prefix}-classify, needs: [a], input: 'input' }
output: '{ "label": steps.a, "fields": steps.b }'
`,
    });
    const pg = postgresStore();
    const shared = {
      store: pg.store,
      workflowsDir: wf.dir,
      amqpUrl: AMQP_URL,
      resultsQueue: `${prefix}-results`,
      progressQueue: `${prefix}-progress`,
      eventsExchange: `${prefix}-events`,
    };
    const busA = await createBus({
      url: AMQP_URL,
      logger: quietLogger(),
      connectionName: `${prefix}-a`,
    });
    const busB = await createBus({
      url: AMQP_URL,
      logger: quietLogger(),
      connectionName: `${prefix}-b`,
    });
    const busW = await createBus({
      url: AMQP_URL,
      logger: quietLogger(),
      connectionName: `${prefix}-w`,
    });
    const a = await start(testConfig({ ...shared, connectionName: `${prefix}-a` }), {
      logger: quietLogger(),
      bus: busA,
    });
    const b = await start(testConfig({ ...shared, connectionName: `${prefix}-b` }), {
      logger: quietLogger(),
      bus: busB,
    });
    const executions = new Map<string, number>();
    const count = (taskId: string, attempt: number) =>
      executions.set(`${taskId}:${attempt}`, (executions.get(`${taskId}:${attempt}`) ?? 0) + 1);
    const worker = await startStepWorker({
      bus: busW,
      logger: quietLogger(),
      handlers: [
        defineStepHandler<{ page: number }, string>({
          queue: `${prefix}-ocr`,
          concurrency: 20,
          handle: async (c) => (count(c.taskId, c.attempt), `text ${c.input.page}`),
        }),
        defineStepHandler<{ texts: string[] }, string[][]>({
          queue: `${prefix}-split`,
          handle: async (c) => {
            count(c.taskId, c.attempt);
            const docs: string[][] = [];
            c.input.texts.forEach((t, i) =>
              i % 2 === 0 ? docs.push([t]) : docs[docs.length - 1]?.push(t),
            );
            return docs;
          },
        }),
        defineStepHandler<string[], string>({
          queue: `${prefix}-classify`,
          concurrency: 20,
          handle: async (c) => (count(c.taskId, c.attempt), `label-${c.input.length}`),
        }),
        defineStepHandler({
          queue: `${prefix}-extract`,
          concurrency: 20,
          handle: async (c) => (count(c.taskId, c.attempt), { ok: true }),
        }),
      ],
    });
    try {
      const runs = 12;
      const started = await Promise.all(
        Array.from({ length: runs }, (_, i) =>
          request(i % 2 === 0 ? a.url : b.url)
            .post('/api/workflows/bundle/runs')
            .send({ input: { pages: Array.from({ length: 7 }, (_, p) => p + 1) } }),
        ),
      );
      expect(started.map((r) => r.status)).toEqual(Array(runs).fill(201));
      const ids = started.map((r) => r.body.run.id as string);
      const finished = await waitFor(
        'all runs to finish',
        async () => {
          const list = await request(a.url).get('/api/runs?workflow=bundle&limit=100');
          const mine = list.body.runs.filter((r: { id: string }) => ids.includes(r.id));
          return mine.every((r: { status: string }) => r.status !== 'running') && mine;
        },
        90_000,
      );
      expect(finished.map((r: { status: string }) => r.status)).toEqual(
        Array(runs).fill('succeeded'),
      );
      const detail = await request(b.url).get(`/api/runs/${ids[0]}`);
      expect(detail.body.output).toEqual([
        { label: 'label-2', fields: { ok: true } },
        { label: 'label-2', fields: { ok: true } },
        { label: 'label-2', fields: { ok: true } },
        { label: 'label-1', fields: { ok: true } },
      ]);
      // Every attempt was executed exactly once (no crash here, so no redelivery is legitimate),
      // and the database holds exactly one attempt per task.
      expect([...executions.entries()].filter(([, n]) => n !== 1)).toEqual([]);
      const perRun = 7 + 1 + 4 * 3;
      const attempts = await a.store.db
        .selectFrom('attempts')
        .select(['task_id', 'attempt', 'status'])
        .execute();
      expect(attempts.filter((x) => x.status === 'succeeded').length).toBeGreaterThanOrEqual(
        runs * perRun,
      );
      expect(attempts.every((x) => x.attempt === 1 && x.status === 'succeeded')).toBe(true);
      expect(executions.size).toBe(attempts.length);
    } finally {
      await worker.close();
      await a.close();
      await b.close();
      await Promise.all([busA.close(), busB.close(), busW.close()]);
      await pg.cleanup();
      wf.cleanup();
    }
  });
});
