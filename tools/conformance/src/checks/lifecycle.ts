import { closeConnections, consumerConnections } from '../broker';
import {
  CheckFailure,
  expect,
  expectStatus,
  type Check,
  type CheckContext,
  type WorkflowSpec,
} from '../check';
import { describeRun, stepOf } from '../orchestrator-api';
import type { Subject } from '../profiles';
import { NO_SLOW } from './deadlines';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Long timeouts and a single attempt: if the run succeeds, the broker's redelivery (or the worker
// finishing what it had) did it, not an orchestrator retry after a timeout.
const WORK_MS = 2500;
const slowOnce = (s: Subject): Record<string, WorkflowSpec> =>
  s.slow
    ? {
        main: {
          steps: {
            a: {
              queue: s.slow(WORK_MS, 200).queue,
              input: 'input',
              timeout: 60_000,
              retry: { maxAttempts: 1 },
            },
          },
          output: 'steps.a',
        },
      }
    : {};

/** Starts the slow step and resolves once the worker is running it (its first heartbeat). */
async function startSlow(
  context: CheckContext,
): Promise<{ id: string; verify(o: unknown): string | undefined }> {
  const slow = context.subject.slow?.(WORK_MS, 200);
  if (!slow) throw new Error(NO_SLOW);
  const id = await context.api.start(context.workflow('main'), slow.input);
  const run = await context.api.waitFor(
    id,
    (r) => r.status !== 'running' || r.steps.some((s) => s.step === 'a' && s.progress !== null),
    20_000,
    'the first heartbeat of the slow step (the kit waits for it to know the worker is running it)',
  );
  expect(
    run.status === 'running',
    `the slow step finished before the kit saw its first heartbeat (${describeRun(run)}): it must heartbeat at once when asked to`,
  );
  return { id, verify: slow.verify };
}

async function expectCompletedOnce(
  context: CheckContext,
  id: string,
  verify: (o: unknown) => string | undefined,
  why: string,
): Promise<void> {
  const run = await context.api.finished(id, 45_000);
  expectStatus(run, 'succeeded', why);
  const a = stepOf(run, 'a');
  expect(
    a.attempts.length === 1,
    `expected the single attempt to complete, got ${describeRun(run)}`,
  );
  const problem = verify(run.output);
  expect(problem === undefined, `wrong output: ${problem}`);
}

/** A worker killed mid-step leaves the request unacked; a new worker gets it and completes it. */
export const redelivery: Check = {
  name: 'redelivery-after-kill',
  sections: '§3.4, §3.5',
  skip: (s) => (s.slow ? undefined : NO_SLOW),
  workflows: slowOnce,
  async run(context) {
    const { id, verify } = await startSlow(context);
    await context.worker.kill();
    await context.worker.start();
    await expectCompletedOnce(
      context,
      id,
      verify,
      'killed (SIGKILL) while running the step, the request must come back to the restarted worker',
    );
  },
};

/** SIGTERM: stop taking requests, finish the running attempt (result sent, acked), then exit. */
export const gracefulShutdown: Check = {
  name: 'graceful-shutdown',
  sections: '§3.6',
  skip: (s) => (s.slow ? undefined : NO_SLOW),
  workflows: slowOnce,
  async run(context) {
    const { worker } = context;
    const { id, verify } = await startSlow(context);
    worker.process.signal('SIGTERM');
    const exited = await worker.process.waitForExit(30_000);
    expect(exited, 'the worker did not exit within 30 s of SIGTERM');
    // Before any restart: only the worker that got SIGTERM can have finished it.
    const run = await context.api.finished(id, 15_000).catch(() => undefined);
    expect(
      run?.status === 'succeeded',
      `the attempt running at SIGTERM was abandoned (run ${run ? describeRun(run) : 'still running'}): finish running attempts, send their results and ack before exiting`,
    );
    await expectCompletedOnce(context, id, verify, 'finished before exit');
    const code = worker.process.exitCode();
    await worker.start();
    return `exit code ${code}`;
  },
};

/**
 * The broker closes the worker's connection (as a broker restart or a network cut does): the
 * worker stays up, reconnects, consumes again, and the step it was running still completes.
 */
export const reconnect: Check = {
  name: 'reconnect-after-connection-close',
  sections: '§3.7',
  workflows: (s) => ({
    ...slowOnce(s),
    after: { steps: { a: { queue: s.succeed.queue, input: 'input' } }, output: 'steps.a' },
  }),
  async run(context) {
    const { broker, worker, subject, api } = context;
    const inFlight = subject.slow ? await startSlow(context) : undefined;
    const before = await consumerConnections(subject.queues);
    expect(before.size > 0, 'found no connection consuming the worker queues');
    await closeConnections(before);
    const until = Date.now() + 30_000;
    for (;;) {
      expect(worker.process.alive(), 'the worker exited when its connection was closed');
      const now = await consumerConnections(subject.queues);
      const fresh = [...now].filter((c) => !before.has(c));
      if (fresh.length > 0 && [...before].every((c) => !now.has(c))) {
        await broker.waitForConsumers(subject.queues, true, Math.max(1000, until - Date.now()));
        break;
      }
      expect(
        Date.now() < until,
        'the worker did not consume its queues again within 30 s of its connection being closed',
      );
      await sleep(250);
    }
    if (inFlight)
      await expectCompletedOnce(
        context,
        inFlight.id,
        inFlight.verify,
        'the step running when the connection closed completes (its result sent after reconnecting, or the request redelivered and run again)',
      );
    const run = await api.complete(context.workflow('after'), subject.succeed.input);
    expectStatus(run, 'succeeded', 'a new run after reconnecting');
    const problem = subject.succeed.verify(run.output);
    expect(problem === undefined, `wrong output after reconnecting: ${problem}`);
    return `${before.size} connection(s) closed; consuming again`;
  },
};

/**
 * Its queue deleted under it, the broker cancels the worker's consumer (`basic.cancel`): the
 * worker declares the queue again and consumes again, without anyone else re-creating it.
 */
export const queueDeleted: Check = {
  name: 'consumer-cancelled-by-broker',
  sections: '§3.7',
  workflows: (s) => ({
    after: { steps: { a: { queue: s.succeed.queue, input: 'input' } }, output: 'steps.a' },
  }),
  async run({ broker, worker, subject, api, workflow }) {
    const { queue } = subject.succeed;
    await broker.deleteQueue(queue);
    try {
      await broker.waitForConsumers([queue], true, 30_000, () => worker.process.alive());
    } catch (error) {
      throw new CheckFailure(
        `after ${queue} was deleted (the broker cancels its consumer), the worker should declare it again and consume it: ${(error as Error).message}`,
      );
    }
    const run = await api.complete(workflow('after'), subject.succeed.input);
    expectStatus(run, 'succeeded', 'a run on the re-created queue');
    const problem = subject.succeed.verify(run.output);
    expect(problem === undefined, `wrong output: ${problem}`);
  },
};
