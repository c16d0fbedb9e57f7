import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { createBus, type Bus } from '@conveyor/bus';
import { ClassifyResponse, type StepRequest, type StepResult } from '@conveyor/contracts';
import { stepQueue, stepResultsQueue } from '@conveyor/worker-sdk';
import { configFrom } from '../src/config';
import { startWorker, type RunningWorker } from '../src/worker';
import { CountingClassifier, trainFixtureBaseline } from './helpers';

const AMQP_URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
/** Every queue this run declares starts with this, so cleanup never touches anyone else's. */
const prefix = `test.classifier.${randomUUID().slice(0, 8)}`;
const QUEUE = `${prefix}.classify`;
const RESULTS = `${prefix}.results`;

async function deleteOwnTopology(): Promise<void> {
  const { stdout: queues } = await promisify(execFile)(
    'rabbitmqctl',
    ['list_queues', '-q', '--no-table-headers', 'name'],
    { timeout: 30_000 },
  );
  const { stdout: exchanges } = await promisify(execFile)(
    'rabbitmqctl',
    ['list_exchanges', '-q', '--no-table-headers', 'name'],
    { timeout: 30_000 },
  );
  const conn = await connect(AMQP_URL, {
    clientProperties: { connection_name: `${prefix}-cleanup` },
  });
  try {
    const ch = await conn.createChannel();
    for (const q of queues
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => s.startsWith(prefix)))
      await ch.deleteQueue(q);
    for (const x of exchanges
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => s.startsWith(prefix)))
      await ch.deleteExchange(x);
    await ch.close();
  } finally {
    await conn.close();
  }
}

function stepRequest(taskId: string, input: unknown): StepRequest {
  return {
    type: 'workflow.step.request',
    version: 1,
    taskId,
    attempt: 1,
    runId: `${prefix}.run`,
    workflow: { name: 'document-processing', version: 1 },
    step: 'classify',
    queue: QUEUE,
    input,
    deadline: new Date(Date.now() + 120_000).toISOString(),
    timeoutMs: 120_000,
    replyTo: RESULTS,
    progressTo: `${prefix}.progress`,
  };
}

const HQ_QUESTION = {
  title: 'How to get the value of a select in Java?',
  body: '<p>I have tried <code>foo.getValue()</code> &amp; it fails:</p><pre><code>Select s = new Select();</code></pre>',
};

describe('classify step worker on RabbitMQ', () => {
  let client: Bus;
  let running: RunningWorker;
  let model: CountingClassifier;
  const results = new Map<string, StepResult>();

  beforeAll(async () => {
    model = new CountingClassifier(await trainFixtureBaseline(), 30);
    running = await startWorker(
      configFrom({
        PORT: 0,
        LOG_LEVEL: 'silent',
        AMQP_URL,
        CLASSIFY_QUEUE: QUEUE,
        BATCH_WAIT_MS: 20,
        WORKER_CONCURRENCY: 16,
      }),
      { model, handleSignals: false },
    );
    client = await createBus({ url: AMQP_URL, connectionName: `${prefix}-client` });
    await client.consume(stepResultsQueue(RESULTS), async ({ message }) => {
      results.set(message.taskId, message);
    });
  });

  afterAll(async () => {
    await running?.stop();
    await client?.close();
    await deleteOwnTopology();
  });

  async function resultOf(taskId: string): Promise<StepResult> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const r = results.get(taskId);
      if (r) return r;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`no result for ${taskId} within 30 s`);
  }

  it('answers a classify step with a classifier.classify.response', async () => {
    await client.publish(
      stepQueue(QUEUE),
      stepRequest('t-ok', {
        type: 'classifier.classify.request',
        version: 1,
        items: [{ id: 'q1', ...HQ_QUESTION }],
      }),
    );
    const result = await resultOf('t-ok');
    expect(result.status).toBe('succeeded');
    if (result.status !== 'succeeded') return;
    const output = ClassifyResponse.parse(result.output);
    expect(output.results).toHaveLength(1);
    expect(output.results[0]).toMatchObject({ id: 'q1', label: 'high' });
    expect(output.model.kind).toBe('tfidf-logreg');
  });

  it('fails the step, not retryable, when the input breaks the contract', async () => {
    await client.publish(
      stepQueue(QUEUE),
      stepRequest('t-bad', {
        type: 'classifier.classify.request',
        version: 1,
        items: [{ body: 'no title' }],
      }),
    );
    const result = await resultOf('t-bad');
    expect(result.status).toBe('failed');
    if (result.status !== 'failed') return;
    expect(result.error).toMatchObject({ code: 'INVALID_INPUT', retryable: false });
    expect(JSON.stringify(result.error.details)).toContain('items.0.title');
  });

  it('dead-letters a message that is not a step request', async () => {
    const conn = await connect(AMQP_URL, {
      clientProperties: { connection_name: `${prefix}-raw` },
    });
    try {
      const ch = await conn.createConfirmChannel();
      ch.sendToQueue(QUEUE, Buffer.from(JSON.stringify({ hello: 'world' })), {
        persistent: true,
        contentType: 'application/json',
      });
      await ch.waitForConfirms();
      await ch.close();
    } finally {
      await conn.close();
    }
    const deadline = Date.now() + 30_000;
    let letters: Awaited<ReturnType<Bus['drainDeadLetters']>> = [];
    while (letters.length === 0 && Date.now() < deadline) {
      letters = await client.drainDeadLetters(stepQueue(QUEUE), 10);
      if (letters.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(letters).toHaveLength(1);
    expect(letters[0]?.body).toEqual({ hello: 'world' });
    expect(letters[0]?.originalQueue).toBe(QUEUE);
  });

  it('batches concurrent step requests into shared model calls', async () => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    model.calls.length = 0;
    const ids = Array.from({ length: 6 }, (_, i) => `t-batch-${i}`);
    await Promise.all(
      ids.map((id, i) =>
        client.publish(
          stepQueue(QUEUE),
          stepRequest(id, {
            type: 'classifier.classify.request',
            version: 1,
            items: [{ ...HQ_QUESTION, title: `${HQ_QUESTION.title} ${i}` }],
          }),
        ),
      ),
    );
    const all = await Promise.all(ids.map(resultOf));
    expect(all.every((r) => r.status === 'succeeded')).toBe(true);
    expect(model.calls.reduce((a, b) => a + b, 0)).toBe(6);
    expect(model.calls.length).toBeLessThan(6);
  });

  it('answers each step of a batch with its own items, in order', async () => {
    const sizes = { 't-split-a': 2, 't-split-b': 3, 't-split-c': 1 };
    await Promise.all(
      Object.entries(sizes).map(([taskId, n]) =>
        client.publish(
          stepQueue(QUEUE),
          stepRequest(taskId, {
            type: 'classifier.classify.request',
            version: 1,
            items: Array.from({ length: n }, (_, i) => ({ id: `${taskId}/${i}`, ...HQ_QUESTION })),
          }),
        ),
      ),
    );
    for (const [taskId, n] of Object.entries(sizes)) {
      const result = await resultOf(taskId);
      if (result.status !== 'succeeded') throw new Error(`${taskId} ${result.status}`);
      const ids = ClassifyResponse.parse(result.output).results.map((r) => r.id);
      expect(ids).toEqual(Array.from({ length: n }, (_, i) => `${taskId}/${i}`));
    }
  });

  it('reports readiness of model and broker', async () => {
    const res = await fetch(`${running.url}/readyz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { checks: Record<string, { ok: boolean }> };
    expect(body.checks['model']?.ok).toBe(true);
    expect(body.checks['bus']?.ok).toBe(true);
  });
});
