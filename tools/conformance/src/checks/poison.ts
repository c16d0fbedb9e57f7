import { randomUUID } from 'node:crypto';
import type { StepRequest } from '@conveyor/contracts';
import { expect, expectStatus, type Check, type CheckContext } from '../check';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const WAIT_MS = 20_000;

/** A valid request the kit publishes itself, answered to the kit's own results queue. */
function request(context: CheckContext, taskId: string, replyTo: string): StepRequest {
  const { queue, input } = context.subject.succeed;
  return {
    type: 'workflow.step.request',
    version: 1,
    taskId,
    attempt: 1,
    runId: `conformance-${taskId}`,
    workflow: { name: 'conformance', version: 1 },
    step: 'direct',
    queue,
    input: input as StepRequest['input'],
    deadline: new Date(Date.now() + 60_000).toISOString(),
    timeoutMs: 60_000,
    replyTo,
    progressTo: replyTo,
  };
}

/** Polls `queue` (taking what it finds) until `done(all taken so far)`; returns them. */
async function collect(
  context: CheckContext,
  queue: string,
  done: (bodies: readonly string[]) => boolean,
  timeoutMs: number,
): Promise<string[]> {
  const bodies: string[] = [];
  const until = Date.now() + timeoutMs;
  while (!done(bodies) && Date.now() < until) {
    bodies.push(...(await context.broker.take(queue)).map((m) => m.body));
    if (!done(bodies)) await sleep(200);
  }
  return bodies;
}

async function stillServing(context: CheckContext): Promise<void> {
  const { worker, broker, subject, api, workflow } = context;
  expect(worker.process.alive(), 'the worker exited after the poison messages');
  await broker.waitForConsumers(subject.queues, true, 5000);
  const run = await api.complete(workflow('after'), subject.succeed.input);
  expectStatus(run, 'succeeded', 'the worker keeps serving after poison messages');
}

const afterWorkflow = (queue: string) => ({
  after: { steps: { a: { queue, input: 'input' } } },
});

/**
 * Invalid requests (not JSON, an unknown type or version, required fields missing) are rejected
 * to the queue's dead-letter queue — never acked and dropped, never requeued forever — and the
 * worker carries on.
 */
export const poisonInvalid: Check = {
  name: 'poison-invalid-request',
  sections: '§2, §3.2',
  workflows: (s) => afterWorkflow(s.succeed.queue),
  async run(context) {
    const queue = context.subject.succeed.queue;
    const replyTo = `${context.prefix}.kit-results`;
    await context.broker.declareResultsQueue(replyTo, context.subject.queueType);
    const valid = request(context, 'unused', replyTo);
    const { runId: _runId, replyTo: _replyTo, ...missingFields } = valid;
    const markers = {
      'not JSON': `poison-${randomUUID()}`,
      'unknown version': `poison-${randomUUID()}`,
      'another message type': `poison-${randomUUID()}`,
      'runId and replyTo missing': `poison-${randomUUID()}`,
    };
    const poisons: Record<keyof typeof markers, string> = {
      'not JSON': `{ this is not JSON ${markers['not JSON']}`,
      'unknown version': JSON.stringify({
        ...valid,
        version: 99,
        taskId: markers['unknown version'],
      }),
      'another message type': JSON.stringify({
        ...valid,
        type: 'workflow.step.result',
        taskId: markers['another message type'],
      }),
      'runId and replyTo missing': JSON.stringify({
        ...missingFields,
        taskId: markers['runId and replyTo missing'],
      }),
    };
    for (const body of Object.values(poisons))
      await context.broker.publishRaw(queue, Buffer.from(body));

    const dead = await collect(
      context,
      `${queue}.dlq`,
      (bodies) => Object.values(markers).every((m) => bodies.some((b) => b.includes(m))),
      WAIT_MS,
    );
    const missing = Object.entries(markers)
      .filter(([, m]) => !dead.some((b) => b.includes(m)))
      .map(([what]) => what);
    const stuck = await context.broker.depth(queue);
    expect(
      missing.length === 0,
      `not dead-lettered to ${queue}.dlq within ${WAIT_MS / 1000} s: ${missing.join('; ')}` +
        (stuck > 0
          ? ` (${stuck} message(s) still in ${queue}: requeued instead of rejected?)`
          : ' (not in the queue either: acked and dropped?)'),
    );
    const answered = (await context.broker.take(replyTo)).filter((b) =>
      Object.values(markers).some((m) => b.body.includes(m)),
    );
    expect(answered.length === 0, `the worker answered an invalid request: ${answered[0]?.body}`);
    await stillServing(context);
    return `${Object.keys(poisons).length} invalid requests dead-lettered`;
  },
};

/**
 * A request that keeps killing its workers is dead-lettered, not run forever (classic queues,
 * §3.5): redelivered with `x-conveyor-attempt` 5 it goes to the .dlq without running, while a
 * request redelivered for the first time still runs.
 */
export const poisonCrashLoop: Check = {
  name: 'poison-crash-loop',
  sections: '§3.5',
  skip: (s) =>
    s.queueType === 'classic'
      ? undefined
      : 'on quorum queues the broker counts redeliveries (x-delivery-limit) and the worker must not',
  workflows: (s) => afterWorkflow(s.succeed.queue),
  async run(context) {
    const { broker, worker } = context;
    const queue = context.subject.succeed.queue;
    const replyTo = `${context.prefix}.kit-results`;
    await broker.declareResultsQueue(replyTo, context.subject.queueType);
    await broker.take(replyTo);
    await worker.kill();
    const poison = `crash-loop-${randomUUID()}`;
    const survivor = `survivor-${randomUUID()}`;
    await broker.publishRaw(queue, Buffer.from(JSON.stringify(request(context, poison, replyTo))), {
      messageId: `${poison}:1`,
      headers: { 'x-conveyor-attempt': 5 },
    });
    await broker.publishRaw(
      queue,
      Buffer.from(JSON.stringify(request(context, survivor, replyTo))),
      { messageId: `${survivor}:1` },
    );
    // Both delivered and returned unacked: the broker redelivers them with redelivered = true.
    const taken = await broker.crashOnAll(queue);
    expect(taken >= 2, `expected to take the 2 requests just published, took ${taken}`);
    await worker.start();

    const results = await collect(
      context,
      replyTo,
      (b) => b.some((x) => x.includes(survivor)),
      WAIT_MS,
    );
    const dead = await collect(
      context,
      `${queue}.dlq`,
      (b) => b.some((x) => x.includes(poison)),
      WAIT_MS,
    );
    expect(
      results.some((r) => r.includes(survivor) && r.includes('"succeeded"')),
      `a request redelivered once (x-conveyor-attempt absent) should run and succeed; no result within ${WAIT_MS / 1000} s`,
    );
    expect(
      dead.some((d) => d.includes(poison)),
      `a request redelivered with x-conveyor-attempt 5 should be rejected to ${queue}.dlq; it was not there within ${WAIT_MS / 1000} s`,
    );
    expect(
      !results.some((r) => r.includes(poison)),
      'the request at the redelivery limit was run (a result was sent) instead of dead-lettered',
    );
    await stillServing(context);
  },
};
