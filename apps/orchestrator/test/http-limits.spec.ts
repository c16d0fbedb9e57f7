import { createBus, createEmbeddedBroker, type Bus } from '@conveyor/bus';
import { defineStepHandler, FatalStepError, startStepWorker } from '@conveyor/worker-sdk';
import pino from 'pino';
import request from 'supertest';
import { start, type Orchestrator } from '../src/main';
import { quietLogger, sqliteStore, testConfig, unique, workflowDir } from './harness';

jest.setTimeout(60_000);

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** An orchestrator on an embedded bus with a worker that quotes its whole input in its error. */
async function system(limits?: { bodyBytes: number; runInputBytes: number }) {
  const q = unique('naive-ocr');
  const wf = workflowDir({
    'ocr.yaml': `
name: ocr
version: 1
steps:
  ocr: { queue: ${q}, input: 'input', retry: { maxAttempts: 1 } }
`,
  });
  const db = sqliteStore();
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  const bus: Bus = await createBus({
    embeddedBroker: createEmbeddedBroker(),
    logger: quietLogger(),
  });
  const config = testConfig({
    store: db.store,
    workflowsDir: wf.dir,
    ...(limits ? { httpLimits: limits } : {}),
  });
  const orchestrator: Orchestrator = await start(config, { logger, bus });
  // A careless worker: its error message and details repeat whatever it was sent.
  const worker = await startStepWorker({
    bus,
    logger: quietLogger(),
    handlers: [
      defineStepHandler({
        queue: q,
        handle: async ({ input }) => {
          const { uri } = input as { uri: string };
          throw new FatalStepError(`cannot read ${uri}`, { code: 'UNREADABLE', details: input });
        },
      }),
    ],
  });
  return {
    url: orchestrator.url,
    orchestrator,
    logs: () => lines.map((l) => JSON.parse(l) as LogLine),
    logBytes: () => lines.reduce((n, l) => n + l.length, 0),
    async close() {
      await worker.close();
      await orchestrator.close();
      await bus.close();
      wf.cleanup();
      db.cleanup();
    },
  };
}

describe('HTTP API: body and run input limits, content types', () => {
  let sys: Awaited<ReturnType<typeof system>>;
  beforeAll(async () => {
    sys = await system();
  });
  afterAll(() => sys.close());
  const post = (body: string, type?: string) => {
    const r = request(sys.url).post('/api/workflows/ocr/runs');
    if (type) r.set('content-type', type);
    return r.send(body);
  };

  it('answers an 11 MB body with 413 naming the limit and HTTP_BODY_LIMIT_BYTES, logged at warn without a stack', async () => {
    const before = sys.logs().length;
    const body = JSON.stringify({ input: { uri: 'x'.repeat(11 * 1024 * 1024) } });
    const res = await post(body, 'application/json');
    expect(res.status).toBe(413);
    expect(res.body.error.message).toMatch(
      /^request body is larger than the 4 MiB limit \(HTTP_BODY_LIMIT_BYTES=4194304\); .*raise HTTP_BODY_LIMIT_BYTES/,
    );
    const logged = sys.logs().slice(before);
    expect(logged).toEqual([
      expect.objectContaining({ level: 40, msg: 'request refused', status: 413 }),
    ]);
    expect(JSON.stringify(logged)).not.toMatch(/stack|PayloadTooLargeError/);
  });

  it('answers a run input over RUN_INPUT_LIMIT_BYTES (default 1 MiB) with 413', async () => {
    const res = await post(
      JSON.stringify({ input: { uri: 'x'.repeat(2 * 1024 * 1024) } }),
      'application/json',
    );
    expect(res.status).toBe(413);
    expect(res.body.error.message).toMatch(
      /^run input is 2\.0 MiB as JSON, over the 1 MiB limit \(RUN_INPUT_LIMIT_BYTES=1048576\); .*raise RUN_INPUT_LIMIT_BYTES$/,
    );
    const runs = await request(sys.url).get('/api/runs');
    expect(runs.body.runs).toEqual([]);
  });

  it('answers another content type, or no body at all, with 415 saying what to send', async () => {
    for (const res of [
      await post('{"input": {"uri": "a"}}', 'text/plain'),
      await post('input=1', 'application/x-www-form-urlencoded'),
      await request(sys.url).post('/api/workflows/ocr/runs'),
    ]) {
      expect(res.status).toBe(415);
      expect(res.body.error.message).toMatch(
        /send a JSON object with Content-Type: application\/json, e\.g\. \{"input": \{…\}, "waitMs": 30000\}$/,
      );
    }
  });

  it('answers JSON that is not an object with 400 "expected a JSON object"', async () => {
    for (const [body, kind] of [
      ['null', 'null'],
      ['"hello"', 'a string'],
      ['42', 'a number'],
      ['[{"input": {}}]', 'an array'],
    ]) {
      const res = await post(body as string, 'application/json');
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(
        new RegExp(`^expected a JSON object as the request body, got ${kind}; send e\\.g\\. `),
      );
    }
  });

  it('answers an empty JSON body with 400 about the body, not the content type', async () => {
    const res = await post('', 'application/json');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^the request body is empty; send a JSON object/);
  });

  it('says a missing input is required', async () => {
    const res = await post('{"waitMs": 10}', 'application/json');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe(
      'invalid request body: input: required; send e.g. {"input": {…}, "waitMs": 30000}',
    );
  });

  it('cancels without a body, and refuses a non-JSON cancel body with 415', async () => {
    const started = await post('{"input": {"uri": "a"}}', 'application/json');
    const id = started.body.run.id as string;
    const plain = await request(sys.url)
      .post(`/api/runs/${id}/cancel`)
      .set('content-type', 'text/plain')
      .send('stop');
    expect(plain.status).toBe(415);
    const bare = await request(sys.url).post(`/api/runs/${id}/cancel`);
    expect([200, 409]).toContain(bare.status);
  });
});

describe('a 5 MB input accepted under raised limits', () => {
  let sys: Awaited<ReturnType<typeof system>>;
  beforeAll(async () => {
    sys = await system({ bodyBytes: 16 * 1024 * 1024, runInputBytes: 8 * 1024 * 1024 });
  });
  afterAll(() => sys.close());

  it('keeps errors, logs and the run list small; the detail keeps the input whole', async () => {
    const uri = 'x'.repeat(5 * 1024 * 1024);
    const res = await request(sys.url)
      .post('/api/workflows/ocr/runs')
      .set('content-type', 'application/json')
      .send(JSON.stringify({ input: { uri }, waitMs: 30_000 }));
    expect(res.status).toBe(200);
    expect(res.body.run.status).toBe('failed');
    const id = res.body.run.id as string;

    // The step's, the attempt's and the run's errors: cut to a few KiB, the full size noted.
    const { db } = sys.orchestrator.store;
    const run = await db
      .selectFrom('runs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    const tasks = await db.selectFrom('tasks').select('error').where('run_id', '=', id).execute();
    const attempts = await db
      .selectFrom('attempts')
      .select('error')
      .where('run_id', '=', id)
      .execute();
    for (const text of [run.error, ...tasks.map((t) => t.error), ...attempts.map((a) => a.error)]) {
      expect(text).not.toBeNull();
      expect((text ?? '').length).toBeLessThan(8 * 1024);
    }
    expect(run.error).toMatch(/… \[truncated: 5242892 characters in all\]/);
    expect(JSON.parse(attempts[0]?.error ?? '{}').details).toMatchObject({
      truncated: true,
      characters: 5242890,
    });

    const list = await request(sys.url).get('/api/runs');
    expect(list.text.length).toBeLessThan(4 * 1024);
    expect(list.body.runs[0]).not.toHaveProperty('input');
    expect(list.body.runs[0]).not.toHaveProperty('output');
    expect(list.body.runs[0].error.message.length).toBeLessThan(400);

    const detail = await request(sys.url).get(`/api/runs/${id}`);
    expect(detail.body.input.uri).toHaveLength(uri.length);
    expect(detail.body.error.message.length).toBeLessThan(8 * 1024);

    expect(sys.logBytes()).toBeLessThan(64 * 1024);
  });
});
