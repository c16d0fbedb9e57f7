import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { Client } from 'pg';
import { Browser } from './support/browser';
import { freePort, ROOT, StackProcess } from './support/stack-process';

const AMQP_URL = process.env['TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const DATABASE_URL = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN = `${process.pid}_${Date.now().toString(36)}`;
// Other test runs share this broker and database (and may serve `classify`): our own names only.
const QUEUE_PREFIX = `local-stack-${RUN}.`;
const SCHEMA = `local_stack_${RUN}`.toLowerCase();
const exec = promisify(execFile);

interface Run {
  id: string;
  status: string;
  output: {
    bundleId: string;
    documents: { id: string; quality: string; model: string; fields?: Record<string, string[]> }[];
  };
  error?: unknown;
}

async function json<T>(response: Response): Promise<T> {
  const text = await response.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(
      `${response.url} answered ${response.status} with non-JSON: ${text.slice(0, 500)}`,
    );
  }
}

async function waitUntilReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/readyz`).catch((error: Error) => error);
    if (!(res instanceof Error) && res.status === 200) return;
    last = res instanceof Error ? res.message : await res.text();
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms: ${last}`);
}

/**
 * `npm start` against the real RabbitMQ and PostgreSQL: every service on its own thread, exercised
 * through its public HTTP API, then stopped with SIGINT as Ctrl-C would.
 */
describe('local stack on RabbitMQ and PostgreSQL', () => {
  let stack: StackProcess;
  let dataDir: string;
  const urls = {
    orchestrator: '',
    classifier: '',
    classifierWorker: '',
    checkers: '',
    svcProxy: '',
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'local-stack-e2e-'));
    // Chosen beforehand, so another connection can take one while the stack starts (it then
    // fails naming the variable). The stack cannot bind port 0 yet: its settings refuse 0,
    // svc-proxy's endpoints file is written with every service's port before they start, and
    // the banner has no classifier worker URL.
    const ports = {
      ORCHESTRATOR_PORT: await freePort(),
      CLASSIFIER_PORT: await freePort(),
      CLASSIFIER_WORKER_PORT: await freePort(),
      CHECKERS_PORT: await freePort(),
      SVC_PROXY_PORT: await freePort(),
      DEV_IDP_PORT: await freePort(),
    };
    stack = new StackProcess({
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      AMQP_URL,
      DATABASE_URL,
      DATABASE_SCHEMA: SCHEMA,
      QUEUE_PREFIX,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      // The shipped model unless the environment names another (e.g. a freshly trained one).
      ...(process.env['MODEL_DIR'] ? { MODEL_DIR: process.env['MODEL_DIR'] } : {}),
    });
    const banner = await stack.waitFor(
      /Conveyor local stack is running \(RabbitMQ \(AMQP_URL\), PostgreSQL \(DATABASE_URL\)\)[\s\S]*Ctrl-C stops every service\./,
      180_000,
    );
    const url = (label: string) =>
      new RegExp(`^ {2}${label} +(http://\\S+?)/`, 'm').exec(banner[0])?.[1] ?? '';
    urls.checkers = url('checkers \\(play draughts\\)');
    urls.classifier = url('classifier API');
    urls.orchestrator = url('run inspector');
    urls.svcProxy = url('svc-proxy');
    urls.classifierWorker = `http://127.0.0.1:${ports.CLASSIFIER_WORKER_PORT}`;
    expect(urls).toEqual({
      orchestrator: `http://127.0.0.1:${ports.ORCHESTRATOR_PORT}`,
      classifier: `http://127.0.0.1:${ports.CLASSIFIER_PORT}`,
      classifierWorker: `http://127.0.0.1:${ports.CLASSIFIER_WORKER_PORT}`,
      checkers: `http://127.0.0.1:${ports.CHECKERS_PORT}`,
      svcProxy: `http://127.0.0.1:${ports.SVC_PROXY_PORT}`,
    });
    // The model loads in the background after the listeners are up.
    await waitUntilReady(urls.classifier, 120_000);
    await waitUntilReady(urls.classifierWorker, 120_000);
  });

  afterAll(async () => {
    if (stack?.child.exitCode === null)
      await stack.signal('SIGKILL', 10_000).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    const db = new Client({ connectionString: DATABASE_URL });
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await db.end();
    // This run's queues and exchanges only, found by prefix.
    const names = async (what: 'list_queues' | 'list_exchanges') =>
      (await exec('rabbitmqctl', [what, '-q', '--no-table-headers', 'name'])).stdout
        .split('\n')
        .map((s) => s.trim())
        .filter((s) => s.startsWith(QUEUE_PREFIX));
    const connection = await connect(AMQP_URL, {
      clientProperties: { connection_name: `${QUEUE_PREFIX}cleanup` },
    });
    const channel = await connection.createChannel();
    for (const queue of await names('list_queues')) await channel.deleteQueue(queue);
    for (const exchange of await names('list_exchanges')) await channel.deleteExchange(exchange);
    await connection.close();
  });

  it('runs the document-processing workflow through the real classifier over RabbitMQ', async () => {
    const classified = await json<{ model: { kind: string } }>(
      await fetch(`${urls.classifier}/v1/classify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          title: 'How do I read a CSV file with pandas?',
          body: '<p>I tried <code>open()</code> but the columns are wrong.</p>',
        }),
      }),
    );
    const bundle = JSON.parse(
      readFileSync(join(ROOT, 'examples/document-processing/sample/bundle.json'), 'utf8'),
    ) as { bundleId: string };
    bundle.bundleId = `local-stack-${RUN}`;
    const response = await fetch(`${urls.orchestrator}/api/workflows/document-processing/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: bundle, waitMs: 150_000 }),
    });
    const { run } = await json<{ run: Run }>(response);
    expect({ status: response.status, run: run.status, error: run.error }).toEqual({
      status: 200,
      run: 'succeeded',
      error: null,
    });
    expect(run.output.documents.map((d) => d.id)).toEqual(['doc-1', 'doc-2', 'doc-3']);
    for (const document of run.output.documents) {
      // The classifier's own model answered, not the example's heuristic stand-in.
      expect(document.model).toBe(classified.model.kind);
      expect(['none', 'low', 'high']).toContain(document.quality);
      // extract-fields runs unless the classifier said "none" (the workflow's `when`).
      if (document.quality === 'none') expect(document.fields).toBeUndefined();
      else
        expect(document.fields).toEqual(
          expect.objectContaining({
            dates: expect.any(Array),
            amounts: expect.any(Array),
            emails: expect.any(Array),
          }),
        );
    }
    const invoice = run.output.documents[0];
    if (invoice?.quality !== 'none') {
      expect(invoice?.fields).toEqual({
        dates: ['2026-11-02', '2026-12-02'],
        amounts: ['1,240.00 EUR'],
        emails: ['billing@acme-paper.example'],
      });
      // Served by the launcher's TypeScript extract-fields worker (the example's Python one is not running).
      const children = await json<{ runs: { id: string }[] }>(
        await fetch(`${urls.orchestrator}/api/runs?parent=${run.id}`),
      );
      const extracts = [];
      for (const child of children.runs) {
        const detail = await json<{
          steps: { step: string; output: { documentId?: string; worker?: string } | null }[];
        }>(await fetch(`${urls.orchestrator}/api/runs/${child.id}`));
        extracts.push(
          ...detail.steps.filter((s) => s.step === 'extract' && s.output).map((s) => s.output),
        );
      }
      expect(extracts).toContainEqual(
        expect.objectContaining({
          documentId: 'doc-1',
          worker: expect.stringMatching(/^local-stack-extract\//),
        }),
      );
    }

    // It really went through RabbitMQ and PostgreSQL under this run's names.
    const { stdout } = await exec('rabbitmqctl', [
      'list_queues',
      '-q',
      '--no-table-headers',
      'name',
    ]);
    expect(stdout.split('\n').map((s) => s.trim())).toEqual(
      expect.arrayContaining([
        `${QUEUE_PREFIX}classify`,
        `${QUEUE_PREFIX}extract-fields`,
        `${QUEUE_PREFIX}conveyor.step-results`,
      ]),
    );
    const db = new Client({ connectionString: DATABASE_URL });
    await db.connect();
    try {
      const stored = await db.query<{ status: string }>(
        `SELECT status FROM ${SCHEMA}.runs WHERE id = $1`,
        [run.id],
      );
      expect(stored.rows).toEqual([{ status: 'succeeded' }]);
    } finally {
      await db.end();
    }
  });

  it('plays a few moves against the checkers engine', async () => {
    const post = (path: string, body: unknown = {}) =>
      fetch(`${urls.checkers}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    let game = await json<{
      id: string;
      moves: { by: string }[];
      legalMoves: { notation: string }[];
      status: { state: string; awaiting?: string };
    }>(await post('/api/games', { side: 'white', difficulty: 'easy' }));
    for (let turn = 0; turn < 3 && game.status.state === 'ongoing'; turn++) {
      expect(game.status.awaiting).toBe('human');
      const move = game.legalMoves[0]?.notation;
      const played = await post(`/api/games/${game.id}/moves`, { move });
      expect(played.status).toBe(200);
      const reply = await post(`/api/games/${game.id}/engine-move`);
      expect(reply.status).toBe(200);
      game = (await json(reply)) as typeof game;
    }
    expect(game.moves.map((m) => m.by)).toEqual([
      'human',
      'engine',
      'human',
      'engine',
      'human',
      'engine',
    ]);
    const stored = await json<{ moves: unknown[] }>(
      await fetch(`${urls.checkers}/api/games/${game.id}`),
    );
    expect(stored.moves).toHaveLength(6);
  });

  it("signs in at svc-proxy through the local identity provider and reads services' /debug/vars", async () => {
    const browser = new Browser();
    const target = `${urls.svcProxy}/proxy/local/orchestrator/orchestrator-0/debug/vars`;
    const { visited, last } = await browser.follow(target);
    // start → provider's /authorize → svc-proxy's callback → back where we were going.
    expect(visited.map((u) => new URL(u).pathname)).toEqual([
      '/proxy/local/orchestrator/orchestrator-0/debug/vars',
      '/oauth2/start',
      '/authorize',
      '/oauth2/callback',
      '/proxy/local/orchestrator/orchestrator-0/debug/vars',
    ]);
    expect(last.status).toBe(200);
    expect(await json(last)).toMatchObject({
      service: 'orchestrator',
      store: expect.stringContaining(`schema=${SCHEMA}`),
    });

    const checkersVars = await json<{ service: string; games: { stored: number } }>(
      await browser.request(`${urls.svcProxy}/proxy/local/checkers/checkers-0/debug/vars`),
    );
    expect(checkersVars.service).toBe('checkers');
    expect(checkersVars.games.stored).toBeGreaterThanOrEqual(1);
    const landing = await (await browser.request(`${urls.svcProxy}/`)).text();
    for (const service of ['orchestrator', 'classifier', 'classifier-worker', 'checkers'])
      expect(landing).toContain(`${service}-0`);
    // Only what the launcher listed is reachable.
    expect(
      (await browser.request(`${urls.svcProxy}/proxy/local/postgres/postgres-0/`)).status,
    ).toBe(404);
  });

  it('stops every service cleanly on SIGINT and exits 0', async () => {
    const code = await stack.signal('SIGINT', 60_000);
    expect({ code, tail: stack.output.slice(-300) }).toEqual({
      code: 0,
      tail: expect.stringContaining('local stack stopped cleanly'),
    });
  });
});
