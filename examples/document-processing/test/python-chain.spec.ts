import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBus, type Bus } from '@conveyor/bus';
import {
  readCounter,
  spawnLogged,
  startOrchestrator,
  type LoggedProcess,
} from '@conveyor/test-support';
import { defineStepHandler, startStepWorker, type StepWorker } from '@conveyor/worker-sdk';
import { connect } from 'amqplib';
import pino from 'pino';
import { EXAMPLE_DIR } from '../src/workers';

jest.setTimeout(120_000);

// docs/worker-protocol.md §7 in Python: step a (Python, extract-fields) lists b (TypeScript) in
// its chain; the Python worker starts b itself unless CONTINUE_CHAINS=0. One orchestrator, one
// workflow per case, each on its own queues, so the per-queue counter tells the cases apart.
const ROOT = join(EXAMPLE_DIR, '..', '..');
const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const PREFIX = `py-chain-${process.pid}-${Date.now().toString(36)}-`;
const logger = pino({ level: 'silent' });
const CASES = [
  { name: 'continued', continueChains: '1', continued: 1 },
  { name: 'dispatched', continueChains: '0', continued: 0 },
].map((c) => ({ ...c, pyQueue: `${PREFIX}${c.name}-py`, tsQueue: `${PREFIX}${c.name}-ts` }));

const workflow = (name: string, pyQueue: string, tsQueue: string) => `
name: ${name}
version: 1
steps:
  a: { queue: ${pyQueue}, input: 'input' }
  b: { queue: ${tsQueue}, needs: [a], input: 'steps.a' }
output: 'steps.b'
`;

let workflowsDir: string;
let dataDir: string;
let base: string;
let bus: Bus;
let worker: StepWorker | undefined;
const processes: LoggedProcess[] = [];

beforeAll(async () => {
  workflowsDir = mkdtempSync(join(tmpdir(), 'py-chain-wf-'));
  dataDir = mkdtempSync(join(tmpdir(), 'py-chain-db-'));
  for (const c of CASES)
    writeFileSync(join(workflowsDir, `${c.name}.yaml`), workflow(c.name, c.pyQueue, c.tsQueue));
  const pythons = CASES.map((c) => {
    const python = spawnLogged('/usr/bin/python3', [join(EXAMPLE_DIR, 'python/worker.py')], {
      cwd: ROOT,
      env: {
        AMQP_URL,
        QUEUE: c.pyQueue,
        CONTINUE_CHAINS: c.continueChains,
        CONNECTION_NAME: `${PREFIX}python-${c.name}`,
      },
    });
    processes.push(python);
    return python;
  });
  // PORT=0, the URL read from its ready line: a port chosen beforehand could be taken by another
  // connection during the seconds tsx needs to start it. The Python workers start meanwhile.
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
  for (const python of pythons) await python.waitForLine(/^ready: consuming/, 30_000);
  bus = await createBus({ url: AMQP_URL, logger, connectionName: `${PREFIX}ts` });
  worker = await startStepWorker({
    bus,
    logger,
    handlers: CASES.map((c) =>
      defineStepHandler({ queue: c.tsQueue, handle: async ({ input }) => input }),
    ),
  });
});

afterAll(async () => {
  await worker?.close();
  await bus?.close();
  for (const child of processes) await child.kill('SIGTERM');
  rmSync(workflowsDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
  // This run's queues and exchanges, by name (a minimal local version of example.spec.ts's
  // prefix sweep, which lives inside that spec file).
  const conn = await connect(AMQP_URL, {
    clientProperties: { connection_name: `${PREFIX}cleanup` },
  });
  const ch = await conn.createChannel();
  for (const name of [
    ...CASES.flatMap((c) => [c.pyQueue, c.tsQueue]),
    `${PREFIX}results`,
    `${PREFIX}progress`,
    `${PREFIX}events`,
  ]) {
    for (const q of [name, `${name}.dlq`, `${name}.retry`]) await ch.deleteQueue(q);
    await ch.deleteExchange(`${name}.dlx`);
  }
  await ch.deleteExchange(`${PREFIX}events`); // the events topic exchange itself
  await conn.close();
});

const counter = (name: string, labels: string) => readCounter(base, name, labels);

interface StepView {
  step: string;
  status: string;
  input: unknown;
  output: unknown;
}

it.each(CASES)(
  'the Python worker honours chains: CONTINUE_CHAINS=$continueChains → $continued continued',
  async ({ name, tsQueue, continued }) => {
    const input = {
      documentId: `doc-${name}`,
      text: 'Invoice 2026-11-26: 1,200.00 EUR, questions to billing@acme-paper.example',
    };
    const response = await fetch(`${base}/api/workflows/${name}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input, waitMs: 30_000 }),
    });
    expect(response.status).toBe(200);
    const { run } = (await response.json()) as { run: { id: string; status: string } };
    expect(run.status).toBe('succeeded');

    const detail = (await (await fetch(`${base}/api/runs/${run.id}`)).json()) as {
      output: unknown;
      steps: StepView[];
    };
    const a = detail.steps.find((s) => s.step === 'a');
    const b = detail.steps.find((s) => s.step === 'b');
    expect(a?.status).toBe('succeeded');
    expect(b?.status).toBe('succeeded');
    // Fields extracted by Python, handed to b unchanged and echoed back as the run's output.
    expect(a?.output).toEqual({
      documentId: input.documentId,
      fields: {
        dates: ['2026-11-26'],
        amounts: ['1,200.00 EUR'],
        emails: ['billing@acme-paper.example'],
      },
      words: 7,
      worker: expect.stringMatching(/^python-extract\//),
    });
    expect(b?.input).toEqual(a?.output);
    expect(detail.output).toEqual(a?.output);

    expect(await counter('conveyor_workflow_steps_continued_total', `queue="${tsQueue}"`)).toBe(
      continued,
    );
    expect(await counter('conveyor_workflow_ignored_results_total', 'reason="unknown-task"')).toBe(
      0,
    );
  },
);
