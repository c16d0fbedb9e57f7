import { createBus, createEmbeddedBroker, type Bus } from '@conveyor/bus';
import type { StepProgress, StepRequest, StepResult } from '@conveyor/contracts';
import { connect } from 'amqplib';
import pino from 'pino';
import { z } from 'zod';
import {
  defineBatchStepHandler,
  FatalStepError,
  RetryableStepError,
  startStepWorker,
  stepProgressQueue,
  stepQueue,
  stepResultsQueue,
  type StepWorker,
} from '../src';

jest.setTimeout(60_000);

const logger = pino({ level: 'silent' });

function request(overrides: Partial<StepRequest> = {}): StepRequest {
  const taskId = overrides.taskId ?? `t-${Math.random()}`;
  return {
    type: 'workflow.step.request',
    version: 1,
    taskId,
    attempt: 1,
    runId: `run-${taskId}`,
    workflow: { name: 'wf', version: 1 },
    step: 's',
    queue: 'model',
    input: { text: taskId },
    deadline: new Date(Date.now() + 30_000).toISOString(),
    timeoutMs: 30_000,
    replyTo: 'results',
    progressTo: 'progress',
    ...overrides,
  };
}

const until = async (what: string, check: () => boolean, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** Publishes every request, then starts the worker, so that they are all waiting in the queue. */
async function queued(bus: Bus, queue: string, requests: StepRequest[]) {
  await bus.assertQueue(stepQueue(queue));
  for (const r of requests) await bus.publish(stepQueue(queue), r);
}

describe('batch handlers (embedded bus)', () => {
  let bus: Bus;
  let results: StepResult[];
  let progress: StepProgress[];
  let worker: StepWorker | undefined;

  beforeEach(async () => {
    bus = await createBus({ embeddedBroker: createEmbeddedBroker(), logger });
    results = [];
    progress = [];
    await bus.assertQueue(stepResultsQueue('results'));
    await bus.assertQueue(stepProgressQueue('progress'));
    await bus.consume(stepResultsQueue('results'), async (d) => void results.push(d.message));
    await bus.consume(stepProgressQueue('progress'), async (d) => void progress.push(d.message));
  });
  afterEach(async () => {
    await worker?.close();
    worker = undefined;
    await bus.close();
  });

  const byTask = () => Object.fromEntries(results.map((r) => [r.taskId, r]));

  it('hands requests of different runs to one call, at most maxBatchSize at a time, each answered on its own', async () => {
    const batches: string[][] = [];
    await queued(
      bus,
      'model',
      Array.from({ length: 10 }, (_, i) => request({ taskId: `t${i}` })),
    );
    worker = await startStepWorker({
      bus,
      logger,
      workerId: 'w1',
      handlers: [
        defineBatchStepHandler({
          queue: 'model',
          maxBatchSize: 4,
          maxWaitMs: 1000,
          input: z.object({ text: z.string() }),
          async handleBatch(items) {
            batches.push(items.map((i) => i.taskId));
            return items.map((i) => ({
              status: 'succeeded' as const,
              output: { echo: i.input.text, size: items.length },
            }));
          },
        }),
      ],
    });
    await until('10 results', () => results.length === 10);
    // Ten waiting requests, four at most per call: 4 + 4 + 2 (the last two after maxWaitMs).
    expect(batches.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(new Set(batches.flat()).size).toBe(10);
    for (let i = 0; i < 10; i++) {
      const result = byTask()[`t${i}`];
      expect(result).toMatchObject({
        status: 'succeeded',
        runId: `run-t${i}`,
        attempt: 1,
        workerId: 'w1',
        output: { echo: `t${i}` },
      });
    }
  });

  it('fails only the failing items: retryable, fatal, unhandled, invalid input and invalid output', async () => {
    const seen: string[] = [];
    await queued(bus, 'model', [
      request({ taskId: 'ok' }),
      request({ taskId: 'retry' }),
      request({ taskId: 'fatal' }),
      request({ taskId: 'crash' }),
      request({ taskId: 'bad-input', input: { text: 42 } }),
      request({ taskId: 'bad-output' }),
    ]);
    worker = await startStepWorker({
      bus,
      logger,
      handlers: [
        defineBatchStepHandler({
          queue: 'model',
          maxBatchSize: 8,
          maxWaitMs: 200,
          input: z.object({ text: z.string() }),
          output: z.object({ label: z.string() }),
          async handleBatch(items) {
            seen.push(...items.map((i) => i.taskId));
            return items.map((i) => {
              switch (i.input.text) {
                case 'retry':
                  return {
                    status: 'failed' as const,
                    error: new RetryableStepError('busy', { code: 'BUSY' }),
                  };
                case 'fatal':
                  return { status: 'failed' as const, error: new FatalStepError('no') };
                case 'crash':
                  return { status: 'failed' as const, error: new TypeError('x is undefined') };
                case 'bad-output':
                  return { status: 'succeeded' as const, output: { label: 7 } as never };
                default:
                  return { status: 'succeeded' as const, output: { label: 'fine' } };
              }
            });
          },
        }),
      ],
    });
    await until('6 results', () => results.length === 6);
    // The invalid input never reached the handler; the others came in one call.
    expect(seen.sort()).toEqual(['bad-output', 'crash', 'fatal', 'ok', 'retry']);
    const r = byTask();
    expect(r.ok).toMatchObject({ status: 'succeeded', output: { label: 'fine' } });
    expect(r.retry).toMatchObject({ status: 'failed', error: { code: 'BUSY', retryable: true } });
    expect(r.fatal).toMatchObject({ status: 'failed', error: { retryable: false } });
    expect(r.crash).toMatchObject({
      status: 'failed',
      error: { code: 'UNHANDLED', retryable: true, message: 'TypeError: x is undefined' },
    });
    expect(r['bad-input']).toMatchObject({ error: { code: 'INVALID_INPUT', retryable: false } });
    expect(r['bad-output']).toMatchObject({ error: { code: 'INVALID_OUTPUT', retryable: false } });
  });

  it('a batch that throws, or answers with the wrong number of outcomes, fails each item with its own result', async () => {
    await queued(bus, 'model', [request({ taskId: 'a1' }), request({ taskId: 'a2' })]);
    await queued(bus, 'short', [
      request({ taskId: 'b1', queue: 'short' }),
      request({ taskId: 'b2', queue: 'short' }),
    ]);
    worker = await startStepWorker({
      bus,
      logger,
      handlers: [
        defineBatchStepHandler({
          queue: 'model',
          maxBatchSize: 2,
          maxWaitMs: 1000,
          handleBatch: async () => {
            throw new RetryableStepError('GPU out of memory', { code: 'OOM' });
          },
        }),
        defineBatchStepHandler({
          queue: 'short',
          maxBatchSize: 2,
          maxWaitMs: 1000,
          handleBatch: async () => [{ status: 'succeeded' as const, output: 1 }],
        }),
      ],
    });
    await until('4 results', () => results.length === 4);
    const r = byTask();
    for (const id of ['a1', 'a2'])
      expect(r[id]).toMatchObject({ taskId: id, error: { code: 'OOM', retryable: true } });
    for (const id of ['b1', 'b2'])
      expect(r[id]).toMatchObject({
        taskId: id,
        error: {
          code: 'INVALID_BATCH_OUTPUT',
          retryable: false,
          message: expect.stringMatching(/returned 1 outcomes for 2 items/),
        },
      });
  });

  it('heartbeats and chains per item', async () => {
    const next: StepRequest[] = [];
    await bus.assertQueue(stepQueue('after'));
    await bus.consume(stepQueue('after'), async (d) => void next.push(d.message));
    const link = { queue: 'after', timeoutMs: 7000 };
    await queued(bus, 'model', [
      request({
        taskId: 'c1',
        step: 'a',
        chain: [{ ...link, step: 'b', input: { from: 'output' } }],
      }),
      request({
        taskId: 'c2',
        step: 'a',
        chain: [{ ...link, step: 'b', input: { from: 'output' } }],
      }),
      request({ taskId: 'plain' }),
    ]);
    worker = await startStepWorker({
      bus,
      logger,
      handlers: [
        defineBatchStepHandler({
          queue: 'model',
          maxBatchSize: 3,
          maxWaitMs: 1000,
          async handleBatch(items) {
            await Promise.all(items.map((i) => i.heartbeat({ progress: 0.5 })));
            return items.map((i) => ({ status: 'succeeded' as const, output: { from: i.taskId } }));
          },
        }),
      ],
    });
    await until('3 results and 2 next steps', () => results.length === 3 && next.length === 2);
    expect(progress.map((p) => p.taskId).sort()).toEqual(['c1', 'c2', 'plain']);
    const r = byTask();
    for (const id of ['c1', 'c2']) {
      const started = next.find((n) => n.runId === `run-${id}`);
      expect(started).toMatchObject({
        step: 'b',
        input: { from: id },
        idempotencyKey: `run-${id}:b`,
      });
      expect(r[id]).toMatchObject({ status: 'succeeded', continuedAs: started?.taskId });
    }
    expect(r.plain).not.toHaveProperty('continuedAs');
  });

  it('refuses a batch definition without a usable size or wait', () => {
    expect(() =>
      defineBatchStepHandler({
        queue: 'q',
        maxBatchSize: 0,
        maxWaitMs: 5,
        handleBatch: async () => [],
      }),
    ).toThrow(/maxBatchSize of the q batch handler must be an integer ≥ 1, got 0/);
    expect(() =>
      defineBatchStepHandler({
        queue: 'q',
        maxBatchSize: 4,
        maxWaitMs: -1,
        handleBatch: async () => [],
      }),
    ).toThrow(/maxWaitMs of the q batch handler must be a number ≥ 0, got -1/);
    expect(
      defineBatchStepHandler({
        queue: 'q',
        maxBatchSize: 4,
        maxWaitMs: 2.5,
        handleBatch: async () => [],
      }).maxWaitMs,
    ).toBe(2.5);
  });
});

describe('batch handlers on RabbitMQ', () => {
  const AMQP_URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
  const prefix = `test.worker-sdk-batch.${process.pid}.${Date.now().toString(36)}`;
  const queue = `${prefix}.model`;
  const resultsName = `${prefix}.results`;
  let bus: Bus;

  beforeAll(async () => {
    bus = await createBus({ url: AMQP_URL, logger, connectionName: `${prefix}-bus` });
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

  it('acks each item only once its own result is confirmed: an item whose result fails runs again, alone; a malformed request is dead-lettered alone', async () => {
    const results: StepResult[] = [];
    await bus.assertQueue(stepResultsQueue(resultsName));
    const consumer = await bus.consume(
      stepResultsQueue(resultsName),
      async (d) => void results.push(d.message),
    );
    const requests = Array.from({ length: 5 }, (_, i) =>
      request({ taskId: `${prefix}-${i}`, queue, replyTo: resultsName }),
    );
    await queued(bus, queue, requests);
    // A body that is not a step request: the bus dead-letters it without running anything.
    const raw = await connect(AMQP_URL);
    const ch = await raw.createConfirmChannel();
    ch.sendToQueue(queue, Buffer.from('{"type":"not a request"}'), { persistent: true });
    await ch.waitForConfirms();
    await raw.close();

    // The first publish of item 2's result fails as an unconfirmed publish would.
    const failing = `${prefix}-2`;
    let failed = false;
    const flaky: Bus = Object.create(bus) as Bus;
    flaky.publish = async (definition, message, options) => {
      const m = message as Partial<StepResult>;
      if (!failed && m.type === 'workflow.step.result' && m.taskId === failing) {
        failed = true;
        throw new Error('publish not confirmed (channel closed)');
      }
      return bus.publish(definition, message, options);
    };
    const ran: string[] = [];
    const batches: number[] = [];
    const worker = await startStepWorker({
      bus: flaky,
      logger,
      handlers: [
        defineBatchStepHandler({
          queue,
          maxBatchSize: 8,
          maxWaitMs: 300,
          async handleBatch(items) {
            batches.push(items.length);
            ran.push(...items.map((i) => i.taskId));
            return items.map((i) => ({ status: 'succeeded' as const, output: i.taskId }));
          },
        }),
      ],
    });
    try {
      await until('a result for each of the 5 requests', () => {
        return new Set(results.map((r) => r.taskId)).size === 5;
      });
      let dead = 0;
      const deadline = Date.now() + 20_000;
      while (dead === 0 && Date.now() < deadline) {
        dead = await bus.deadLetterDepth(stepQueue(queue));
        if (dead === 0) await new Promise((r) => setTimeout(r, 50));
      }
      expect(dead).toBe(1);
      // The item whose result was not confirmed was not acked: it came back and ran again.
      expect(ran.filter((t) => t === failing)).toHaveLength(2);
      for (const r of requests.filter((r) => r.taskId !== failing))
        expect(ran.filter((t) => t === r.taskId)).toHaveLength(1);
      expect(batches[0]).toBe(5);
    } finally {
      await worker.close();
      await consumer.cancel();
    }
  });
});
