import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBus, type Bus } from '@conveyor/bus';
import { readCounter, startOrchestrator, type LoggedProcess } from '@conveyor/test-support';
import { connect } from 'amqplib';
import pino from 'pino';
import { z } from 'zod';
import {
  defineBatchStepHandler,
  FatalStepError,
  RetryableStepError,
  startStepWorker,
  type StepWorker,
} from '../src';

jest.setTimeout(180_000);

// Batch handlers with the real orchestrator (its own process) on the real RabbitMQ: steps of
// different runs share one handler call, and each keeps its own retry, failure and chain.
const ROOT = join(__dirname, '..', '..', '..');
const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const PREFIX = `sdk-batch-${process.pid}-${Date.now().toString(36)}-`;
const QUEUE = `${PREFIX}model`;
const logger = pino({ level: 'silent' });

const WORKFLOWS = {
  'one.yaml': `
name: one
version: 1
steps:
  model:
    queue: ${QUEUE}
    input: 'input'
    retry: { maxAttempts: 3, backoff: { initial: 10ms, max: 20ms } }
output: 'steps.model'
`,
  'chain.yaml': `
name: chain
version: 1
steps:
  a: { queue: ${QUEUE}, input: 'input' }
  b: { queue: ${QUEUE}, needs: [a], input: 'steps.a' }
  c: { queue: ${QUEUE}, needs: [b], input: 'steps.b' }
output: 'steps.c'
`,
};

interface RunView {
  id: string;
  status: string;
  output?: unknown;
  error?: { code?: string; retryable: boolean };
  steps: { step: string; status: string; attempts: { attempt: number }[] }[];
}

let workflowsDir: string;
let dataDir: string;
let base: string;
let orchestrator: LoggedProcess;
let bus: Bus;
let worker: StepWorker | undefined;

beforeAll(async () => {
  workflowsDir = mkdtempSync(join(tmpdir(), 'sdk-batch-wf-'));
  dataDir = mkdtempSync(join(tmpdir(), 'sdk-batch-db-'));
  for (const [file, text] of Object.entries(WORKFLOWS))
    writeFileSync(join(workflowsDir, file), text);
  // PORT=0, the URL read from its ready line: a port chosen beforehand could be taken by another
  // connection during the seconds tsx needs to start it.
  const started = await startOrchestrator({
    root: ROOT,
    amqpUrl: AMQP_URL,
    dataDir,
    workflowsDir,
    prefix: PREFIX,
    // Generous: tsx compiling the orchestrator takes tens of seconds on a busy 2-core machine.
    timeoutMs: 120_000,
  });
  orchestrator = started.process;
  base = started.base;
  bus = await createBus({ url: AMQP_URL, logger, connectionName: `${PREFIX}worker` });
});

afterAll(async () => {
  await worker?.close();
  await bus?.close();
  await orchestrator?.kill('SIGTERM');
  rmSync(workflowsDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
  const conn = await connect(AMQP_URL, {
    clientProperties: { connection_name: `${PREFIX}cleanup` },
  });
  const ch = await conn.createChannel();
  for (const name of [QUEUE, `${PREFIX}results`, `${PREFIX}progress`]) {
    for (const q of [name, `${name}.dlq`, `${name}.retry`]) await ch.deleteQueue(q);
    await ch.deleteExchange(`${name}.dlx`);
  }
  // The run-events topic has its own dead-letter exchange and queue (bus topology).
  await ch.deleteExchange(`${PREFIX}events`);
  await ch.deleteQueue(`${PREFIX}events.dlq`);
  await ch.deleteExchange(`${PREFIX}events.dlx`);
  await conn.close();
});

async function startRun(workflow: string, input: unknown): Promise<string> {
  const response = await fetch(`${base}/api/workflows/${workflow}/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { run: { id: string } }).run.id;
}

async function finished(id: string): Promise<RunView> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const run = (await (await fetch(`${base}/api/runs/${id}`)).json()) as RunView;
    if (run.status !== 'running' && run.status !== 'pending') return run;
    if (Date.now() > deadline) throw new Error(`run ${id} still ${run.status} after 90 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('batches steps of different runs; a failing item fails only its own step; chains go on per item', async () => {
  const modes = ['ok', 'retry', 'fatal', 'ok', 'ok', 'retry'] as const;
  const single = await Promise.all(modes.map((mode, n) => startRun('one', { mode, n })));
  const chains = await Promise.all([1, 2].map((n) => startRun('chain', { mode: 'ok', n })));

  // Started after the runs, so that their requests wait together in the queue.
  const batches: { runId: string; step: string; attempt: number }[][] = [];
  worker = await startStepWorker({
    bus,
    logger,
    handlers: [
      defineBatchStepHandler({
        queue: QUEUE,
        maxBatchSize: 16,
        maxWaitMs: 500,
        input: z.object({ mode: z.enum(['ok', 'retry', 'fatal']), n: z.number() }).passthrough(),
        async handleBatch(items) {
          batches.push(items.map((i) => ({ runId: i.runId, step: i.step, attempt: i.attempt })));
          return items.map((item) => {
            const { mode } = item.input;
            if (mode === 'fatal')
              return {
                status: 'failed' as const,
                error: new FatalStepError('unreadable', { code: 'UNREADABLE' }),
              };
            if (mode === 'retry' && item.attempt === 1)
              return {
                status: 'failed' as const,
                error: new RetryableStepError('warming up', { code: 'WARMING_UP' }),
              };
            return { status: 'succeeded' as const, output: { ...item.input, [item.step]: true } };
          });
        },
      }),
    ],
  });

  const runs = await Promise.all(single.map(finished));
  const chained = await Promise.all(chains.map(finished));

  // The first call held the first step of every run: eight runs in one batch.
  expect(new Set(batches[0]?.map((i) => i.runId))).toEqual(new Set([...single, ...chains]));

  modes.forEach((mode, n) => {
    const run = runs[n];
    if (mode === 'fatal') {
      expect(run).toMatchObject({
        status: 'failed',
        error: { code: 'UNREADABLE', retryable: false },
      });
      expect(run?.steps[0]?.attempts).toHaveLength(1);
    } else {
      expect(run).toMatchObject({ status: 'succeeded', output: { mode, n, model: true } });
      expect(run?.steps[0]?.attempts).toHaveLength(mode === 'retry' ? 2 : 1);
    }
  });
  chained.forEach((run, i) => {
    expect(run).toMatchObject({
      status: 'succeeded',
      output: { mode: 'ok', n: i + 1, a: true, b: true, c: true },
    });
  });
  // b and c of both chains were started by the worker itself, one item at a time (§7).
  expect(
    await readCounter(base, 'conveyor_workflow_steps_continued_total', `queue="${QUEUE}"`),
  ).toBe(4);
});
