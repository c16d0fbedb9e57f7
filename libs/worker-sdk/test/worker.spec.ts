import { createBus, createEmbeddedBroker, type Bus } from '@conveyor/bus';
import type { StepProgress, StepRequest, StepResult } from '@conveyor/contracts';
import pino from 'pino';
import { z } from 'zod';
import {
  defineStepHandler,
  FatalStepError,
  startStepWorker,
  stepProgressQueue,
  stepQueue,
  stepResultsQueue,
} from '../src';

const logger = pino({ level: 'silent' });

function request(overrides: Partial<StepRequest> = {}): StepRequest {
  return {
    type: 'workflow.step.request',
    version: 1,
    taskId: `t-${Math.random()}`,
    attempt: 1,
    runId: 'r1',
    workflow: { name: 'wf', version: 1 },
    step: 's',
    queue: 'echo',
    input: { text: 'hello' },
    deadline: new Date(Date.now() + 10_000).toISOString(),
    timeoutMs: 10_000,
    replyTo: 'results',
    progressTo: 'progress',
    ...overrides,
  };
}

describe('startStepWorker', () => {
  let bus: Bus;
  let results: StepResult[];
  let progress: StepProgress[];

  beforeEach(async () => {
    bus = await createBus({ embeddedBroker: createEmbeddedBroker(), logger });
    results = [];
    progress = [];
    await bus.assertQueue(stepResultsQueue('results'));
    await bus.assertQueue(stepProgressQueue('progress'));
    await bus.consume(stepResultsQueue('results'), async (d) => void results.push(d.message));
    await bus.consume(stepProgressQueue('progress'), async (d) => void progress.push(d.message));
  });
  afterEach(() => bus.close());

  const until = async (check: () => boolean) => {
    const deadline = Date.now() + 5000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('condition not met in 5 s');
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  it('validates input, runs the handler, reports output, retryable and fatal errors, and heartbeats', async () => {
    // The expired request is skipped with a warning: seeing it is what shows it was looked at.
    const warnings: string[] = [];
    const watched = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    const worker = await startStepWorker({
      bus,
      logger: watched,
      workerId: 'w1',
      handlers: [
        defineStepHandler({
          queue: 'echo',
          input: z.object({ text: z.string() }),
          async handle(ctx) {
            if (ctx.input.text === 'fatal')
              throw new FatalStepError('cannot echo that', { code: 'NOPE' });
            if (ctx.input.text === 'crash') throw new TypeError('undefined is not a function');
            await ctx.heartbeat({ progress: 0.5, message: 'half way' });
            return { echo: ctx.input.text, attempt: ctx.attempt };
          },
        }),
      ],
    });
    await bus.publish(stepQueue('echo'), request({ taskId: 'ok', attempt: 2 }));
    await bus.publish(stepQueue('echo'), request({ taskId: 'bad-input', input: { text: 42 } }));
    await bus.publish(stepQueue('echo'), request({ taskId: 'fatal', input: { text: 'fatal' } }));
    await bus.publish(stepQueue('echo'), request({ taskId: 'crash', input: { text: 'crash' } }));
    await bus.publish(
      stepQueue('echo'),
      request({ taskId: 'expired', deadline: new Date(Date.now() - 1000).toISOString() }),
    );
    // Once skipped (it sends nothing after that warning), no result of it can still come.
    await until(
      () =>
        results.length >= 4 &&
        warnings.some((w) => w.includes('"taskId":"expired"') && w.includes('deadline has passed')),
    );
    const byTask = Object.fromEntries(results.map((r) => [r.taskId, r]));
    expect(Object.keys(byTask).sort()).toEqual(['bad-input', 'crash', 'fatal', 'ok']);
    expect(byTask.ok).toMatchObject({
      status: 'succeeded',
      attempt: 2,
      output: { echo: 'hello', attempt: 2 },
      workerId: 'w1',
    });
    expect(byTask['bad-input']).toMatchObject({
      status: 'failed',
      error: { code: 'INVALID_INPUT', retryable: false },
    });
    expect(byTask.fatal).toMatchObject({
      status: 'failed',
      error: { code: 'NOPE', retryable: false, message: 'cannot echo that' },
    });
    expect(byTask.crash).toMatchObject({
      status: 'failed',
      error: {
        code: 'UNHANDLED',
        retryable: true,
        message: 'TypeError: undefined is not a function',
      },
    });
    expect(progress).toEqual([
      expect.objectContaining({ taskId: 'ok', attempt: 2, progress: 0.5, message: 'half way' }),
    ]);
    await worker.close();
  });

  it('close() waits for running handlers to send their results', async () => {
    let release: () => void = () => undefined;
    let markStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const worker = await startStepWorker({
      bus,
      logger,
      handlers: [
        defineStepHandler({
          queue: 'slow',
          handle: () => {
            markStarted();
            return new Promise((resolve) => (release = () => resolve('finished')));
          },
        }),
      ],
    });
    await bus.publish(stepQueue('slow'), request({ taskId: 'slow-1', queue: 'slow' }));
    await started;
    let closed = false;
    const closing = worker.close().then(() => (closed = true));
    // close() first cancels the consumer, then waits for the running handler. A request
    // published now stays queued; once the queue is seen holding it, the consumer is gone (the
    // broker answers in order), so a close() that did not wait would have resolved by then.
    await bus.publish(stepQueue('slow'), request({ taskId: 'slow-2', queue: 'slow' }));
    const waitUntil = Date.now() + 5000;
    while ((await bus.queueDepth(stepQueue('slow'))) !== 1) {
      if (Date.now() > waitUntil) throw new Error('slow-2 was not left in the queue within 5 s');
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(closed).toBe(false);
    expect(worker.inFlight()).toBe(1);
    release();
    await closing;
    expect(worker.inFlight()).toBe(0);
    await until(() => results.length === 1);
    expect(results[0]).toMatchObject({ taskId: 'slow-1', status: 'succeeded', output: 'finished' });
  });

  it('starts the next step of a chain itself, before the result that names it', async () => {
    const next: StepRequest[] = [];
    const resultsWhenBArrived: string[] = [];
    await bus.assertQueue(stepQueue('after'));
    await bus.consume(stepQueue('after'), async (d) => {
      if (d.message.step === 'b') resultsWhenBArrived.push(...results.map((r) => r.taskId));
      next.push(d.message);
    });
    const worker = await startStepWorker({
      bus,
      logger,
      handlers: [
        defineStepHandler({ queue: 'echo', handle: async ({ input }) => ({ got: input }) }),
      ],
    });
    const link = { queue: 'after', timeoutMs: 7000 };
    const chain: StepRequest['chain'] = [
      { ...link, step: 'b', input: { from: 'output' } },
      { ...link, step: 'c', input: { from: 'value', value: { run: 'input' } } },
    ];
    const before = Date.now();
    await bus.publish(stepQueue('echo'), request({ taskId: 'a1', step: 'a', chain }));
    // The last link: nothing follows, so no `chain` in its request.
    await bus.publish(
      stepQueue('echo'),
      request({ taskId: 'x1', step: 'x', chain: chain.slice(1), input: 'ignored' }),
    );
    await until(() => results.length === 2 && next.length === 2);
    const byStep = Object.fromEntries(next.map((r) => [r.step, r]));
    expect(byStep.b).toMatchObject({
      attempt: 1,
      runId: 'r1',
      workflow: { name: 'wf', version: 1 },
      queue: 'after',
      input: { got: { text: 'hello' } },
      timeoutMs: 7000,
      replyTo: 'results',
      progressTo: 'progress',
      chain: chain.slice(1),
    });
    expect(byStep.c?.input).toEqual({ run: 'input' });
    expect(byStep.c?.chain).toBeUndefined();
    expect(Date.parse(byStep.b?.deadline ?? '')).toBeGreaterThanOrEqual(before + 7000);
    const resultOf = Object.fromEntries(results.map((r) => [r.taskId, r]));
    expect(resultOf.a1).toMatchObject({ status: 'succeeded', continuedAs: byStep.b?.taskId });
    expect(resultOf.x1).toMatchObject({ status: 'succeeded', continuedAs: byStep.c?.taskId });
    // A fresh id per continuation: a re-run of the same attempt must not reuse it.
    expect(byStep.b?.taskId).not.toMatch(/^(a1|x1)$/);
    // Time-ordered (UUID v7, protocol §7.2's recommendation), as the orchestrator's own ids.
    const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(byStep.b?.taskId).toMatch(v7);
    expect(byStep.c?.taskId).toMatch(v7);
    expect(byStep.b?.taskId).not.toBe(byStep.c?.taskId);
    // Published without the bus's outgoing check (typed code), both passed the consumer's.
    expect(await bus.deadLetterDepth(stepQueue('after'))).toBe(0);
    expect(resultsWhenBArrived).not.toContain('a1');
    await worker.close();
  });

  it('leaves a chain to the orchestrator when the step failed or continueChains is false', async () => {
    const next: StepRequest[] = [];
    await bus.assertQueue(stepQueue('after'));
    await bus.consume(stepQueue('after'), async (d) => void next.push(d.message));
    const chain: StepRequest['chain'] = [
      { step: 'b', queue: 'after', timeoutMs: 1000, input: { from: 'output' } },
    ];
    const failing = await startStepWorker({
      bus,
      logger,
      handlers: [
        defineStepHandler({
          queue: 'fails',
          handle: async () => {
            throw new FatalStepError('no');
          },
        }),
      ],
    });
    const opted = await startStepWorker({
      bus,
      logger,
      continueChains: false,
      handlers: [defineStepHandler({ queue: 'echo', handle: async () => 'ok' })],
    });
    await bus.publish(stepQueue('fails'), request({ taskId: 'f', queue: 'fails', chain }));
    await bus.publish(stepQueue('echo'), request({ taskId: 'o', chain }));
    await until(() => results.length === 2);
    // A worker publishes a chain's next request before its result, so any continuation would be
    // in the queue before this marker, and consumed first.
    const marker = request({ taskId: 'marker', queue: 'after' });
    await bus.publish(stepQueue('after'), marker);
    await until(() => next.some((r) => r.taskId === 'marker'));
    expect(next).toEqual([marker]);
    for (const r of results) expect(r).not.toHaveProperty('continuedAs');
    await failing.close();
    await opted.close();
  });

  it('refuses two handlers for one queue', async () => {
    const h = defineStepHandler({ queue: 'dup', handle: async () => null });
    await expect(startStepWorker({ bus, handlers: [h, h] })).rejects.toThrow(
      /two handlers for queue "dup"/,
    );
  });
});

describe('startStepWorker on RabbitMQ', () => {
  const AMQP_URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
  const name = `test.worker-sdk.${process.pid}.${Date.now().toString(36)}.type`;
  const buses: Bus[] = [];
  const amqpBus = async (label: string) => {
    const b = await createBus({ url: AMQP_URL, logger, connectionName: `${name}-${label}` });
    buses.push(b);
    return b;
  };
  afterAll(async () => {
    const admin = buses[0];
    for (const b of buses) await b.close();
    if (admin) {
      const { connect } = await import('amqplib');
      const conn = await connect(AMQP_URL);
      const ch = await conn.createChannel();
      for (const q of [name, `${name}.dlq`, `${name}.retry`]) await ch.deleteQueue(q);
      await ch.deleteExchange(`${name}.dlx`);
      await conn.close();
    }
  });

  it('refuses to start on a step queue left with the other type, naming STEP_QUEUE_TYPE', async () => {
    // An older deployment declared the step queue as quorum; this worker uses the default (classic).
    await (await amqpBus('old')).assertQueue(stepQueue(name, 'quorum'));
    const handler = defineStepHandler({ queue: name, handle: async () => ({}) });
    const started = startStepWorker({ bus: await amqpBus('new'), logger, handlers: [handler] });
    await expect(started).rejects.toThrow(
      new RegExp(
        `queue ${name.replace(/\./g, '\\.')} exists on the broker as a quorum queue, but this process declares it as classic.*set STEP_QUEUE_TYPE=quorum on the orchestrator and every worker to keep it, or drain the queue and delete it \\(rabbitmqctl delete_queue ${name.replace(/\./g, '\\.')}\\)`,
      ),
    );
  });
});
