import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createBus, type Bus } from '@conveyor/bus';
import { spawnLogged, startOrchestrator, type LoggedProcess } from '@conveyor/test-support';
import { startStepWorker, type StepWorker } from '@conveyor/worker-sdk';
import { connect } from 'amqplib';
import pino from 'pino';
import { EXAMPLE_DIR, exampleHandlers } from '../src/workers';

jest.setTimeout(120_000);

const ROOT = join(EXAMPLE_DIR, '..', '..');
const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
// Our own queue names: other services' tests share this broker (and may serve `classify`).
const PREFIX = `orch-example-${process.pid}-${Date.now().toString(36)}-`;
const logger = pino({ level: 'silent' });

/** The example's workflows with every queue name prefixed. */
function prefixedWorkflows(dir: string): void {
  cpSync(join(EXAMPLE_DIR, 'workflows'), dir, { recursive: true });
  for (const file of readdirSync(dir)) {
    const path = join(dir, file);
    let text = readFileSync(path, 'utf8').replace(/queue: ([a-z-]+)/g, `queue: ${PREFIX}$1`);
    if (file === 'queues.yaml') text = text.replace(/^ {2}([a-z-]+):$/gm, `  ${PREFIX}$1:`);
    writeFileSync(path, text);
  }
}

let workflowsDir: string;
let dataDir: string;
let base: string;
let bus: Bus;
let worker: StepWorker;
const failures: unknown[] = [];
const processes: LoggedProcess[] = [];

beforeAll(async () => {
  workflowsDir = mkdtempSync(join(tmpdir(), 'orch-example-wf-'));
  dataDir = mkdtempSync(join(tmpdir(), 'orch-example-db-'));
  prefixedWorkflows(workflowsDir);
  const python = spawnLogged('/usr/bin/python3', [join(EXAMPLE_DIR, 'python/worker.py')], {
    cwd: ROOT,
    env: {
      AMQP_URL,
      QUEUE: `${PREFIX}extract-fields`,
      CONNECTION_NAME: `${PREFIX}python`,
    },
  });
  processes.push(python);
  // PORT=0, the URL read from its ready line: a port chosen beforehand could be taken by another
  // connection during the seconds tsx needs to start it. The Python worker starts meanwhile.
  const started = await startOrchestrator({
    root: ROOT,
    amqpUrl: AMQP_URL,
    dataDir,
    workflowsDir,
    prefix: PREFIX,
    // Generous: tsx compiling the orchestrator takes tens of seconds on a busy 2-core machine.
    timeoutMs: 90_000,
  });
  processes.push(started.process);
  base = started.base;
  bus = await createBus({ url: AMQP_URL, logger, connectionName: `${PREFIX}workers` });
  worker = await startStepWorker({
    bus,
    logger,
    handlers: exampleHandlers({ logger, queuePrefix: PREFIX, onFailure: (f) => failures.push(f) }),
  });
  await python.waitForLine(/^ready: consuming/, 90_000);
});

afterAll(async () => {
  await worker?.close();
  await bus?.close();
  for (const child of processes) await child.kill('SIGTERM');
  rmSync(workflowsDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
  // Delete this run's queues and exchanges (ours only, by prefix).
  const exec = promisify(execFile);
  const { stdout } = await exec('rabbitmqctl', ['list_queues', '-q', '--no-table-headers', 'name']);
  const ex = await exec('rabbitmqctl', ['list_exchanges', '-q', '--no-table-headers', 'name']);
  const conn = await connect(AMQP_URL, {
    clientProperties: { connection_name: `${PREFIX}cleanup` },
  });
  const ch = await conn.createChannel();
  for (const q of stdout
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s.startsWith(PREFIX)))
    await ch.deleteQueue(q);
  for (const x of ex.stdout
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s.startsWith(PREFIX)))
    await ch.deleteExchange(x);
  await conn.close();
});

async function startRun(input: unknown) {
  const response = await fetch(`${base}/api/workflows/document-processing/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input, waitMs: 60_000 }),
  });
  return {
    status: response.status,
    body: (await response.json()) as {
      run: Record<string, unknown> & {
        id: string;
        status: string;
        output: unknown;
        error: { message: string };
      };
    },
  };
}

describe('document-processing example: TypeScript and Python workers on RabbitMQ', () => {
  it('turns the sample bundle into one result per document', async () => {
    const bundle = JSON.parse(
      readFileSync(join(EXAMPLE_DIR, 'sample/bundle.json'), 'utf8'),
    ) as Record<string, unknown>;
    const { status, body } = await startRun(bundle);
    expect(status).toBe(200);
    expect(body.run.status).toBe('succeeded');
    expect(body.run.output).toEqual({
      bundleId: 'sample-bundle-1',
      documents: [
        {
          id: 'doc-1',
          title: 'Invoice 2026-117',
          pages: [1, 2],
          quality: 'high',
          model: 'heuristic-stand-in',
          fields: {
            dates: ['2026-11-02', '2026-12-02'],
            amounts: ['1,240.00 EUR'],
            emails: ['billing@acme-paper.example'],
          },
        },
        {
          id: 'doc-2',
          title: 'Delivery note DN-8841',
          pages: [3],
          quality: 'low',
          model: 'heuristic-stand-in',
          fields: { dates: ['2026-11-05'], amounts: [], emails: [] },
        },
        // Rated "none": the extract step is skipped (`when`); JSONata leaves out the missing field.
        {
          id: 'doc-3',
          title: 'Scratch page',
          pages: [4],
          quality: 'none',
          model: 'heuristic-stand-in',
        },
      ],
    });
    // The Python worker really did the extraction.
    const children = (await (await fetch(`${base}/api/runs?parent=${body.run.id}`)).json()) as {
      runs: { id: string }[];
    };
    const detail = (await (await fetch(`${base}/api/runs/${children.runs[0]?.id}`)).json()) as {
      steps: { step: string; output: { worker?: string } }[];
    };
    expect(detail.steps.find((s) => s.step === 'extract')?.output.worker).toMatch(
      /^python-extract\//,
    );

    const again = await startRun(bundle);
    expect(again.body.run.id).toBe(body.run.id);
  });

  it('fails a bundle with an unreadable page, naming the page, and runs the onFailure step', async () => {
    const { body } = await startRun({
      bundleId: `broken-${Date.now()}`,
      pages: [{ uri: 'pages/page-1.txt' }, { uri: 'pages/missing.txt' }],
    });
    expect(body.run.status).toBe('failed');
    expect(body.run.error.message).toMatch(
      /step ocr failed: fan-out ocr: item 1 failed .*cannot read page 2: no page at "pages\/missing\.txt" under the pages root/,
    );
    expect(failures).toEqual([
      expect.objectContaining({ error: expect.objectContaining({ code: 'PAGE_UNREADABLE' }) }),
    ]);
  });

  it.each([
    ['an absolute path', '/etc/os-release'],
    ['a path climbing out', '../../../../../etc/hostname'],
  ])(
    'refuses %s to a host file: the run fails and shows nothing of the file',
    async (_what, uri) => {
      const { body } = await startRun({ bundleId: `escape-${Date.now()}`, pages: [{ uri }] });
      expect(body.run.status).toBe('failed');
      expect(body.run.error.message).toContain(`cannot read page 1: uri ${JSON.stringify(uri)}`);
      expect(body.run.error.message).toContain('relative to the pages root (PAGES_ROOT)');
      expect(JSON.stringify(body.run)).not.toMatch(
        /PRETTY_NAME|\/work\/|examples\/document-processing\/sample/,
      );
    },
  );
});
