import { expect, expectStatus, fastRetry, type Check, type Workflows } from '../check';
import { describeRun, stepOf } from '../orchestrator-api';

export const NO_SLOW = 'the worker has no long-running step (no slow queue in its profile)';

// Margins are wide on purpose (the kit runs on busy CI machines): a heartbeat every 250 ms
// against a 2 s timeout; work that lasts 2-4× the timeout.
const HEARTBEAT_TIMEOUT_MS = 2000;
const HEARTBEAT_WORK_MS = 4500;
const TIMEOUT_MS = 1000;
const TIMEOUT_WORK_MS = 3000;

/** Heartbeats move the deadline: a step running longer than its timeout succeeds on attempt 1. */
export const heartbeat: Check = {
  name: 'heartbeat',
  sections: '§5',
  skip: (s) => (s.slow ? undefined : NO_SLOW),
  workflows: (s): Workflows =>
    s.slow
      ? {
          main: {
            steps: {
              a: {
                queue: s.slow(HEARTBEAT_WORK_MS, 250).queue,
                input: 'input',
                timeout: HEARTBEAT_TIMEOUT_MS,
                retry: { maxAttempts: 1 },
              },
            },
            output: 'steps.a',
          },
        }
      : {},
  async run({ api, subject, workflow }) {
    const slow = subject.slow?.(HEARTBEAT_WORK_MS, 250);
    if (!slow) throw new Error(NO_SLOW);
    const run = await api.complete(workflow('main'), slow.input);
    expectStatus(
      run,
      'succeeded',
      `${HEARTBEAT_WORK_MS} ms of work with a ${HEARTBEAT_TIMEOUT_MS} ms timeout and a heartbeat every 250 ms; a run that timed out means the heartbeats did not reach progressTo or did not carry the request's taskId and attempt`,
    );
    const a = stepOf(run, 'a');
    expect(a.progress !== null, 'the step finished without any heartbeat recorded (progress)');
    const problem = slow.verify(run.output);
    expect(problem === undefined, `wrong output: ${problem}`);
  },
};

/**
 * Without heartbeats, a step running past its deadline times out (STEP_TIMEOUT) and is retried;
 * the late results of the abandoned attempts are ignored.
 */
export const timeout: Check = {
  name: 'timeout',
  sections: '§2, §4, §5',
  skip: (s) => (s.slow ? undefined : NO_SLOW),
  workflows: (s): Workflows =>
    s.slow
      ? {
          main: {
            steps: {
              a: {
                queue: s.slow(TIMEOUT_WORK_MS).queue,
                input: 'input',
                timeout: TIMEOUT_MS,
                retry: fastRetry(2),
              },
            },
          },
        }
      : {},
  async run({ api, subject, workflow }) {
    const slow = subject.slow?.(TIMEOUT_WORK_MS);
    if (!slow) throw new Error(NO_SLOW);
    const id = await api.start(workflow('main'), slow.input);
    const run = await api.finished(id);
    expectStatus(
      run,
      'failed',
      `${TIMEOUT_WORK_MS} ms of work, no heartbeats, ${TIMEOUT_MS} ms timeout, 2 attempts: a success means the worker heartbeats on its own`,
    );
    const a = stepOf(run, 'a');
    expect(a.attempts.length === 2, `expected 2 timed-out attempts, got ${describeRun(run)}`);
    expect(
      a.error?.code === 'STEP_TIMEOUT' && a.error.retryable,
      `expected STEP_TIMEOUT, got ${JSON.stringify(a.error)}`,
    );
    // The worker finishes both attempts later and sends their results: the run must not change.
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_WORK_MS));
    expectStatus(await api.run(id), 'failed', 'late results of abandoned attempts are ignored');
  },
};
