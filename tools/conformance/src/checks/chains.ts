import { expect, expectStatus, fastRetry, type Check, type WorkflowSpec } from '../check';
import { describeRun, stepOf } from '../orchestrator-api';
import { sameJson, type Subject } from '../profiles';

const CONTINUED = 'conveyor_workflow_steps_continued_total';

/** a → b → c on the succeeding queue: each link's input is the previous output, or the run input. */
function chainOf(subject: Subject): WorkflowSpec {
  const { queue, chainInput } = subject.succeed;
  const from = (previous: string) => (chainInput === 'output' ? `steps.${previous}` : 'input');
  return {
    steps: {
      a: { queue, input: 'input' },
      b: { queue, needs: ['a'], input: from('a') },
      c: { queue, needs: ['b'], input: from('b') },
    },
    output: 'steps.c',
  };
}

/**
 * A chain (§7) completes with the right data whether the worker starts the links itself or leaves
 * them to the orchestrator (both are allowed); the note says which it did.
 */
export const chain: Check = {
  name: 'chain',
  sections: '§7',
  workflows: (s) => ({ main: chainOf(s) }),
  async run({ api, subject, workflow }) {
    const labels = `queue="${subject.succeed.queue}"`;
    const before = await api.counter(CONTINUED, labels);
    const run = await api.complete(workflow('main'), subject.succeed.input);
    expectStatus(run, 'succeeded', 'three linked steps succeed');
    for (const name of ['a', 'b', 'c']) {
      const step = stepOf(run, name);
      expect(
        step.status === 'succeeded' && step.attempts.length === 1,
        `step ${name} should succeed on its only attempt: ${describeRun(run)}`,
      );
    }
    if (subject.succeed.chainInput === 'output')
      expect(
        sameJson(stepOf(run, 'b').input, stepOf(run, 'a').output),
        `step b's input should be a's output: got ${JSON.stringify(stepOf(run, 'b').input)}`,
      );
    const problem = subject.succeed.verify(run.output);
    expect(problem === undefined, `wrong output at the end of the chain: ${problem}`);
    const continued = (await api.counter(CONTINUED, labels)) - before;
    return continued > 0
      ? `the worker started ${continued} of 2 links itself`
      : 'the worker ignores chain: the orchestrator dispatched every link (allowed by §7)';
  },
};

/** A continued link that fails fatally fails the run, reported by the link's own step. */
export const chainFailure: Check = {
  name: 'chain-fatal-link',
  sections: '§4, §7',
  skip: (s) =>
    s.succeed.chainInput === 'output'
      ? undefined
      : "its failing step needs an input that a chain link cannot give (neither the previous step's output nor the run input)",
  workflows: (s) => ({
    main: {
      steps: {
        a: { queue: s.succeed.queue, input: 'input' },
        b: { queue: s.fatal.queue, needs: ['a'], input: 'steps.a', retry: fastRetry(3) },
      },
    },
  }),
  async run({ api, subject, workflow }) {
    const run = await api.complete(workflow('main'), subject.succeed.input);
    expectStatus(run, 'failed', 'the second link fails fatally');
    const a = stepOf(run, 'a');
    const b = stepOf(run, 'b');
    expect(a.status === 'succeeded', `step a should have succeeded: ${describeRun(run)}`);
    expect(
      b.status === 'failed' &&
        b.attempts.length === 1 &&
        b.error?.code === subject.fatal.code &&
        !b.error.retryable,
      `step b should fail once with ${subject.fatal.code}: ${describeRun(run)}`,
    );
  },
};

// Generous: the orchestrator's own publish to the missing queue is returned too, and its bus then
// re-declares every queue it knows (all of the session's) before resending, which takes seconds
// on a busy machine.
const MISSING_TIMEOUT_MS = 20_000;

/**
 * A chain link to a queue that does not exist: the worker's publish is returned (it must publish
 * `mandatory`), so its result goes without `continuedAs` and the orchestrator dispatches the step
 * itself (declaring the queue again). Published without `mandatory`, the request would be
 * confirmed and dropped, and the step would wait for its timeout. The kit plays the next step's
 * worker.
 */
export const chainToMissingQueue: Check = {
  name: 'chain-to-missing-queue',
  sections: '§3.4, §7',
  // A publish returned to the orchestrator makes its bus re-declare every queue it knows, which
  // would re-create another target's missing queue in the middle of this check.
  exclusive: true,
  workflows: (s) => ({
    main: {
      steps: {
        a: { queue: s.succeed.queue, input: 'input' },
        b: {
          queue: `${s.succeed.queue}-gone`,
          needs: ['a'],
          input: s.succeed.chainInput === 'output' ? 'steps.a' : 'input',
          timeout: MISSING_TIMEOUT_MS,
          retry: { maxAttempts: 1 },
        },
      },
      output: 'steps.b',
    },
  }),
  async run({ api, broker, subject, workflow }) {
    const gone = `${subject.succeed.queue}-gone`;
    // The orchestrator declared it at start-up; nobody consumes it.
    await broker.deleteQueue(gone);
    const id = await api.start(workflow('main'), subject.succeed.input);
    const request = await broker.answerOne(gone, MISSING_TIMEOUT_MS + 3000);
    const run = await api.finished(id);
    expect(
      request !== undefined,
      `no request for step b ever reached ${gone}: the worker's publish to the missing queue was dropped and the step timed out (${describeRun(run)}). Publish chained requests with mandatory=true, and treat a returned message as a failed publish (no continuedAs)`,
    );
    expectStatus(run, 'succeeded', 'the next step reaches its queue one way or another');
    const a = stepOf(run, 'a');
    const expected = subject.succeed.chainInput === 'output' ? a.output : subject.succeed.input;
    expect(
      sameJson(stepOf(run, 'b').output, expected),
      `step b got the wrong input: ${JSON.stringify(stepOf(run, 'b').output)}`,
    );
  },
};
