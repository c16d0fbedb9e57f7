import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBus, createEmbeddedBroker } from '@conveyor/bus';
import { defineStepHandler, startStepWorker } from '@conveyor/worker-sdk';
import request from 'supertest';
import { start } from '../src/main';
import {
  quietLogger,
  sqliteStore,
  startSystem,
  testConfig,
  unique,
  waitFor,
  workflowDir,
} from './harness';

jest.setTimeout(30_000);

describe('versioned definitions and heartbeats', () => {
  it('keeps a run on the version it started with across a restart that loads a new version', async () => {
    const q = unique('v');
    const v1 = `name: doc\nversion: 1\nsteps:\n  a: { queue: ${q}-hold }\n  b: { queue: ${q}, needs: [a], input: '"v1"' }\noutput: steps.b\n`;
    const v2 = `name: doc\nversion: 2\nsteps:\n  a: { queue: ${q}-hold }\n  b: { queue: ${q}, needs: [a], input: '"v2"' }\n  c: { queue: ${q}, needs: [b], input: '"v2-extra"' }\noutput: steps.c\n`;
    const wf = workflowDir({ 'doc.yaml': v1 });
    const db = sqliteStore();
    const broker = createEmbeddedBroker();
    const bus = await createBus({ embeddedBroker: broker, logger: quietLogger() });
    const names = {
      resultsQueue: unique('r'),
      progressQueue: unique('p'),
      eventsExchange: unique('e'),
    };
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const worker = await startStepWorker({
      bus,
      logger: quietLogger(),
      handlers: [
        defineStepHandler({ queue: `${q}-hold`, handle: async () => (await held, 'held') }),
        defineStepHandler<string, string>({
          queue: q,
          handle: async ({ input }) => `ran ${input}`,
        }),
      ],
    });
    try {
      const first = await start(testConfig({ ...names, store: db.store, workflowsDir: wf.dir }), {
        logger: quietLogger(),
        bus,
      });
      const old = (await request(first.url).post('/api/workflows/doc/runs').send({ input: {} }))
        .body.run;
      expect(old.version).toBe(1);
      await first.close();

      // Editing version 1 in place is refused: runs may depend on it.
      writeFileSync(join(wf.dir, 'doc.yaml'), v1.replace('"v1"', '"edited"'));
      await expect(
        start(testConfig({ ...names, store: db.store, workflowsDir: wf.dir }), {
          logger: quietLogger(),
          bus,
        }),
      ).rejects.toThrow(
        /workflow doc version 1 was registered earlier with different content .* increase `version`/,
      );

      writeFileSync(join(wf.dir, 'doc.yaml'), v2);
      const second = await start(testConfig({ ...names, store: db.store, workflowsDir: wf.dir }), {
        logger: quietLogger(),
        bus,
      });
      const fresh = (await request(second.url).post('/api/workflows/doc/runs').send({ input: {} }))
        .body.run;
      expect(fresh.version).toBe(2);
      release();
      const done = (id: string) =>
        waitFor(`run ${id}`, async () => {
          const run = (await request(second.url).get(`/api/runs/${id}`)).body;
          return run.status !== 'running' && run;
        });
      const oldRun = await done(old.id);
      const newRun = await done(fresh.id);
      expect([oldRun.status, oldRun.version, oldRun.output]).toEqual(['succeeded', 1, 'ran v1']);
      expect([newRun.status, newRun.version, newRun.output]).toEqual([
        'succeeded',
        2,
        'ran v2-extra',
      ]);
      expect(oldRun.graph.map((g: { name: string }) => g.name)).toEqual(['a', 'b']);
      await second.close();
    } finally {
      release();
      await worker.close();
      await bus.close();
      wf.cleanup();
      db.cleanup();
    }
  });

  it('a step that sends heartbeats outlives its timeout', async () => {
    const q = unique('hb');
    const sys = await startSystem({
      workflows: {
        'long.yaml': `name: long\nversion: 1\nsteps:\n  work: { queue: ${q}, timeout: 300ms, retry: { maxAttempts: 2, backoff: { initial: 10ms } } }\n`,
      },
      handlers: [
        defineStepHandler<{ beat: boolean }, string>({
          queue: q,
          handle: async ({ heartbeat }) => {
            // 800 ms of work against a 300 ms timeout: only the heartbeats keep the attempt alive.
            for (let i = 0; i < 8; i++) {
              await new Promise((r) => setTimeout(r, 100));
              await heartbeat({ progress: i / 8, message: `chunk ${i}` });
            }
            return 'done';
          },
        }),
      ],
    });
    try {
      const ok = await request(sys.orchestrator.url)
        .post('/api/workflows/long/runs')
        .send({ input: { beat: true }, waitMs: 10_000 });
      expect(ok.body.run.status).toBe('succeeded');
      expect(ok.body.run.steps[0].attempts).toHaveLength(1);
      expect(ok.body.run.steps[0].progressMessage).toMatch(/^chunk \d$/);
    } finally {
      await sys.close();
    }
  });
});
