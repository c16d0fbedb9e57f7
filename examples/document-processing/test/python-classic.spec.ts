import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createBus, type Bus } from '@conveyor/bus';
import type { StepRequest, StepResult } from '@conveyor/contracts';
import { stepQueue, stepResultsQueue } from '@conveyor/worker-sdk';
import { connect } from 'amqplib';
import pino from 'pino';
import { EXAMPLE_DIR } from '../src/workers';

jest.setTimeout(60_000);

// The Python worker on classic queues (STEP_QUEUE_TYPE=classic): it must declare exactly the
// arguments the TypeScript side does (else PRECONDITION_FAILED), and stand in for the missing
// broker delivery limit the way docs/worker-protocol.md §3.5 says.
const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const PREFIX = `py-classic-${process.pid}-${Date.now().toString(36)}-`;
const QUEUE = `${PREFIX}extract-fields`;
const requests = stepQueue(QUEUE, 'classic');
const OLD_QUORUM = `${PREFIX}old-quorum`;
const results = stepResultsQueue(`${PREFIX}results`, 'classic');

function request(taskId: string): StepRequest {
  return {
    type: 'workflow.step.request',
    version: 1,
    taskId,
    attempt: 1,
    runId: 'run-py',
    workflow: { name: 'wf', version: 1 },
    step: 'extract',
    queue: QUEUE,
    input: { documentId: taskId, text: 'Invoice 2026-11-26 for 1,200.00 EUR' },
    deadline: new Date(Date.now() + 60_000).toISOString(),
    timeoutMs: 60_000,
    replyTo: results.name,
    progressTo: `${PREFIX}progress`,
  };
}

let bus: Bus;
let python: ChildProcess | undefined;

beforeAll(async () => {
  bus = await createBus({
    url: AMQP_URL,
    logger: pino({ level: 'silent' }),
    connectionName: `${PREFIX}bus`,
  });
  await bus.assertQueue(requests);
  await bus.assertQueue(results);
});

afterAll(async () => {
  if (python && python.exitCode === null) {
    python.kill('SIGTERM');
    await new Promise((r) => python?.once('exit', r));
  }
  await bus?.close();
  const conn = await connect(AMQP_URL);
  const ch = await conn.createChannel();
  for (const name of [QUEUE, results.name, OLD_QUORUM]) {
    for (const q of [name, `${name}.dlq`, `${name}.retry`]) await ch.deleteQueue(q);
    await ch.deleteExchange(`${name}.dlx`);
  }
  await conn.close();
});

/** Takes the next request and returns it unacked, as a worker dying mid-step does. */
async function crashOnce(): Promise<void> {
  const conn = await connect(AMQP_URL);
  const ch = await conn.createChannel();
  const msg = await ch.get(QUEUE);
  if (!msg) throw new Error('no request to crash on');
  ch.nack(msg, false, true);
  await ch.close();
  await conn.close();
}

it('declares the same classic arguments, counts redeliveries and dead-letters the exhausted one', async () => {
  // Published with the bus's attempt header at the limit (5), then "crashed" on: redelivered.
  await bus.publish(requests, request('poison'), { headers: { 'x-conveyor-attempt': 5 } });
  await crashOnce();
  await bus.publish(requests, request('survivor'));
  await crashOnce();

  const seen: StepResult[] = [];
  await bus.consume(results, async (d) => void seen.push(d.message));
  let out = '';
  python = spawn('/usr/bin/python3', [join(EXAMPLE_DIR, 'python/worker.py')], {
    env: {
      ...process.env,
      AMQP_URL,
      QUEUE,
      STEP_QUEUE_TYPE: 'classic',
      CONNECTION_NAME: `${PREFIX}python`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  python.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  python.stderr?.on('data', (c: Buffer) => (out += c.toString()));

  const deadline = Date.now() + 30_000;
  let dead: Awaited<ReturnType<Bus['drainDeadLetters']>> = [];
  while (seen.length < 1 || dead.length < 1) {
    if (Date.now() > deadline || python.exitCode !== null)
      throw new Error(
        `python worker: ${seen.length} result(s), ${dead.length} dead letter(s):\n${out}`,
      );
    dead = dead.concat(await bus.drainDeadLetters(requests, 10));
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(seen).toEqual([
    expect.objectContaining({ taskId: 'survivor', status: 'succeeded', attempt: 1 }),
  ]);
  expect(dead).toHaveLength(1);
  expect(dead[0]?.body).toMatchObject({ taskId: 'poison' });
  expect(dead[0]?.originalQueue).toBe(QUEUE);
  expect(dead[0]?.reason).toMatch(/rejected/);
});

it('stops at start-up with the fix when its step queue exists with the other type', async () => {
  // Left by a deployment on quorum queues; the worker runs on the default (classic).
  await bus.assertQueue(stepQueue(OLD_QUORUM, 'quorum'));
  const env: NodeJS.ProcessEnv = { ...process.env, AMQP_URL, QUEUE: OLD_QUORUM };
  delete env['STEP_QUEUE_TYPE'];
  const child = spawn('/usr/bin/python3', [join(EXAMPLE_DIR, 'python/worker.py')], {
    env: { ...env, CONNECTION_NAME: `${PREFIX}python-mismatch` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(1);
  expect(err).toContain(
    `cannot start: queue ${OLD_QUORUM} exists on the broker as a quorum queue, but this worker declares it as classic`,
  );
  expect(err).toContain('set STEP_QUEUE_TYPE=quorum on the orchestrator and every worker');
  expect(err).toContain(`rabbitmqctl delete_queue ${OLD_QUORUM}`);
});
