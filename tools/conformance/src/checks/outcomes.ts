import { expect, expectStatus, fastRetry, type Check, type Workflows } from '../check';
import { describeRun, stepOf } from '../orchestrator-api';

const NO_FLAKY = 'the worker has no step that fails retryably (no flaky queue in its profile)';

/** A plain step succeeds once, its output reaches the run, and several run at once. */
export const success: Check = {
  name: 'success',
  sections: '§2, §3.4',
  workflows: (s) => ({
    main: { steps: { a: { queue: s.succeed.queue, input: 'input' } }, output: 'steps.a' },
  }),
  async run({ api, subject, workflow }) {
    const run = await api.complete(workflow('main'), subject.succeed.input);
    expectStatus(run, 'succeeded', 'the step succeeds');
    const a = stepOf(run, 'a');
    expect(
      a.attempt === 1 && a.attempts.length === 1,
      `expected one attempt, got ${a.attempts.length} (${describeRun(run)})`,
    );
    const problem = subject.succeed.verify(run.output);
    expect(problem === undefined, `wrong output: ${problem}`);
    // The contract asks for 4 at once; any worker should cope with a small burst.
    const ids = await Promise.all(
      Array.from({ length: 4 }, () => api.start(workflow('main'), subject.succeed.input)),
    );
    for (const id of ids) expectStatus(await api.finished(id), 'succeeded', '4 runs at once');
    return '5 runs, output intact';
  },
};

/** A retryable failure is retried by the orchestrator, and the step succeeds on a later attempt. */
export const retryable: Check = {
  name: 'retryable-then-success',
  sections: '§4',
  skip: (s) => (s.flaky ? undefined : NO_FLAKY),
  workflows: (s): Workflows =>
    s.flaky
      ? {
          main: {
            steps: { a: { queue: s.flaky(3).queue, input: 'input', retry: fastRetry(3) } },
            output: 'steps.a',
          },
        }
      : {},
  async run({ api, subject, workflow }) {
    const flaky = subject.flaky?.(3);
    if (!flaky) throw new Error(NO_FLAKY);
    const run = await api.complete(workflow('main'), flaky.input);
    expectStatus(run, 'succeeded', 'attempts 1 and 2 fail retryably, attempt 3 succeeds');
    const a = stepOf(run, 'a');
    expect(a.attempt === 3, `expected success on attempt 3, got ${describeRun(run)}`);
    for (const attempt of a.attempts.slice(0, 2)) {
      expect(
        attempt.error?.retryable === true && attempt.error.code === flaky.code,
        `attempt ${attempt.attempt} should have failed retryable with code ${flaky.code}, got ${JSON.stringify(attempt.error)}`,
      );
    }
    const problem = flaky.verify(run.output, 3);
    expect(problem === undefined, `wrong output: ${problem}`);
  },
};

/** Retryable failures on every attempt fail the step with the last error once attempts run out. */
export const retryableExhausted: Check = {
  name: 'retryable-exhausted',
  sections: '§4',
  skip: (s) => (s.flaky ? undefined : NO_FLAKY),
  workflows: (s): Workflows =>
    s.flaky
      ? {
          main: { steps: { a: { queue: s.flaky(99).queue, input: 'input', retry: fastRetry(2) } } },
        }
      : {},
  async run({ api, subject, workflow }) {
    const flaky = subject.flaky?.(99);
    if (!flaky) throw new Error(NO_FLAKY);
    const run = await api.complete(workflow('main'), flaky.input);
    expectStatus(run, 'failed', 'both allowed attempts fail retryably');
    const a = stepOf(run, 'a');
    expect(a.attempts.length === 2, `expected 2 attempts, got ${describeRun(run)}`);
    expect(
      a.error?.retryable === true && a.error.code === flaky.code,
      `expected the step's error to be the last retryable ${flaky.code}, got ${JSON.stringify(a.error)}`,
    );
  },
};

/** A fatal failure fails the step at once, although the step allows more attempts. */
export const fatal: Check = {
  name: 'fatal',
  sections: '§4',
  workflows: (s) => ({
    main: { steps: { a: { queue: s.fatal.queue, input: 'input', retry: fastRetry(3) } } },
  }),
  async run({ api, subject, workflow }) {
    const run = await api.complete(workflow('main'), subject.fatal.input);
    expectStatus(run, 'failed', 'the step fails with retryable: false');
    const a = stepOf(run, 'a');
    expect(
      a.attempts.length === 1,
      `a fatal error must not be retried; got ${a.attempts.length} attempts (${describeRun(run)})`,
    );
    expect(
      a.error?.retryable === false && a.error.code === subject.fatal.code,
      `expected a non-retryable error with code ${subject.fatal.code}, got ${JSON.stringify(a.error)}`,
    );
    expect(a.error.message.trim() !== '', 'the error message is empty');
    return `"${a.error.message}"`;
  },
};

const NO_CRASH = 'the worker has no step that raises an unexpected exception (no crash queue)';

/**
 * An exception the handler did not decide on is a failed result, retryable, code UNHANDLED, and
 * the request is acked: no crash, no nack, no requeue (which would retry outside the policy).
 */
export const unexpectedException: Check = {
  name: 'unexpected-exception',
  sections: '§4',
  skip: (s) => (s.crash ? undefined : NO_CRASH),
  workflows: (s): Workflows =>
    s.crash
      ? { main: { steps: { a: { queue: s.crash.queue, input: 'input', retry: fastRetry(2) } } } }
      : {},
  async run({ api, subject, workflow, worker }) {
    if (!subject.crash) throw new Error(NO_CRASH);
    const run = await api.complete(workflow('main'), subject.crash.input);
    expectStatus(run, 'failed', 'both allowed attempts raise');
    const a = stepOf(run, 'a');
    expect(
      a.attempts.length === 2 &&
        a.attempts.every((x) => x.error?.retryable === true && x.error.code === 'UNHANDLED'),
      `expected 2 attempts, each failed retryable with code UNHANDLED (the orchestrator's retry, not a redelivery); got ${a.attempts.map((x) => JSON.stringify(x.error)).join(', ')}`,
    );
    expect(worker.process.alive(), 'the worker exited on an exception in a handler');
    return `"${a.error?.message ?? ''}"`;
  },
};
