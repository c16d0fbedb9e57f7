import type { StepResult } from '@conveyor/contracts';
import { recordOrder } from '../src/engine/results-intake';

/** A result of run r1 for `taskId`; `continuedAs`: the next link's task id (a chain). */
function result(taskId: string, continuedAs?: string, failed = false): StepResult {
  const common = {
    type: 'workflow.step.result',
    version: 1,
    taskId,
    attempt: 1,
    runId: 'r1',
    step: `step-${taskId}`,
  } as const;
  if (failed) return { ...common, status: 'failed', error: { message: 'boom', retryable: false } };
  return {
    ...common,
    status: 'succeeded',
    output: null,
    ...(continuedAs !== undefined ? { continuedAs } : {}),
  };
}

describe('recordOrder: the order a run’s waiting results are applied in', () => {
  it('keeps the order they came in when none records another’s step', () => {
    expect(recordOrder([result('a'), result('b', 'x'), result('c', undefined, true)])).toEqual([
      0, 1, 2,
    ]);
    expect(recordOrder([])).toEqual([]);
  });

  it('puts a link’s result after the result that records its step', () => {
    // b overtook a (a's worker published b's request, then a's result): a goes first.
    expect(recordOrder([result('b'), result('a', 'b')])).toEqual([1, 0]);
    // A whole chain that came last link first, and a result of another step in between.
    expect(
      recordOrder([result('d'), result('c', 'd'), result('z'), result('b', 'c'), result('a', 'b')]),
    ).toEqual([4, 3, 1, 0, 2]);
  });

  it('leaves a result in place when what records it is not waiting (already applied, or later)', () => {
    expect(recordOrder([result('c', 'd'), result('b', 'c')])).toEqual([1, 0]);
    expect(recordOrder([result('x', 'y'), result('q')])).toEqual([0, 1]);
  });

  it('does not take a failure for a continuation, and ends on a cycle (which no chain makes)', () => {
    expect(recordOrder([result('b'), result('a', undefined, true)])).toEqual([0, 1]);
    const cycle = recordOrder([result('a', 'b'), result('b', 'a')]);
    expect([...cycle].sort()).toEqual([0, 1]);
  });
});
