import { join } from 'node:path';
import { createBus, type Bus } from '@conveyor/bus';
import type { StepRequest, StepResult } from '@conveyor/contracts';
import { spawnTs } from '@conveyor/test-support';
import { connect } from 'amqplib';
import pino from 'pino';
import { defineBatchStepHandler, startStepWorker, stepQueue, stepResultsQueue } from '../src';

jest.setTimeout(120_000);

// A batch worker killed (SIGKILL) after handleBatch returned but before its results were
// confirmed has acked nothing: every request of the batch comes back and runs again.
const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const prefix = `test.worker-sdk-batch-kill.${process.pid}.${Date.now().toString(36)}`;
const queue = `${prefix}.model`;
const resultsName = `${prefix}.results`;
const logger = pino({ level: 'silent' });
let bus: Bus;

beforeAll(async () => {
  bus = await createBus({ url: AMQP_URL, logger, connectionName: `${prefix}-test` });
});
afterAll(async () => {
  await bus.close();
  const conn = await connect(AMQP_URL);
  const ch = await conn.createChannel();
  for (const name of [queue, resultsName]) {
    for (const q of [name, `${name}.dlq`, `${name}.retry`]) await ch.deleteQueue(q);
    await ch.deleteExchange(`${name}.dlx`);
  }
  await conn.close();
});

it('redelivers every request of a batch whose worker died before the results were confirmed', async () => {
  const requests: StepRequest[] = Array.from({ length: 4 }, (_, i) => ({
    type: 'workflow.step.request',
    version: 1,
    taskId: `${prefix}-${i}`,
    attempt: 1,
    runId: `run-${i}`,
    workflow: { name: 'wf', version: 1 },
    step: 'model',
    queue,
    input: i,
    deadline: new Date(Date.now() + 60_000).toISOString(),
    timeoutMs: 60_000,
    replyTo: resultsName,
    progressTo: resultsName,
  }));
  await bus.assertQueue(stepQueue(queue));
  await bus.assertQueue(stepResultsQueue(resultsName));
  for (const r of requests) await bus.publish(stepQueue(queue), r);

  const doomed = spawnTs(join(__dirname, 'fixtures/batch-kill-worker.ts'), {
    cwd: join(__dirname, '..', '..', '..'),
    tsconfig: join(__dirname, '..', 'tsconfig.json'),
    env: { AMQP_URL, QUEUE: queue },
  });
  try {
    await doomed.waitForLine(/^handled 4$/, 90_000);
  } finally {
    await doomed.kill('SIGKILL');
  }

  const results: StepResult[] = [];
  const consumer = await bus.consume(
    stepResultsQueue(resultsName),
    async (d) => void results.push(d.message),
  );
  const ran: string[] = [];
  const worker = await startStepWorker({
    bus,
    logger,
    handlers: [
      defineBatchStepHandler({
        queue,
        maxBatchSize: 16,
        maxWaitMs: 300,
        async handleBatch(items) {
          ran.push(...items.map((i) => i.taskId));
          return items.map((i) => ({ status: 'succeeded' as const, output: i.taskId }));
        },
      }),
    ],
  });
  try {
    const deadline = Date.now() + 30_000;
    while (results.length < requests.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 25));
    expect(ran.sort()).toEqual(requests.map((r) => r.taskId).sort());
    expect(results.map((r) => r.taskId).sort()).toEqual(requests.map((r) => r.taskId).sort());
  } finally {
    await worker.close();
    await consumer.cancel();
  }
});
