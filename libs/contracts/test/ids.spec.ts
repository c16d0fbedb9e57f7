import { StepRequest, StepResult, uuidv7, uuidv7Millis } from '../src';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7: time-ordered message ids', () => {
  it('is a UUID of version 7, variant 10, carrying the millisecond it was made', () => {
    const before = Date.now();
    const id = uuidv7();
    expect(id).toMatch(V7);
    expect(uuidv7Millis(id)).toBeGreaterThanOrEqual(before);
    // Ahead of the clock only after 2,048 ids in one millisecond (the counter's overflow).
    expect(uuidv7Millis(id)).toBeLessThanOrEqual(Date.now() + 5);
  });

  it('sorts in the order ids were made, many within one millisecond too, and never repeats', () => {
    const ids = Array.from({ length: 20_000 }, () => uuidv7());
    expect(ids.filter((id, i) => i > 0 && !(id > (ids[i - 1] ?? '')))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => !V7.test(id))).toEqual([]);
  });

  it('spreads the random bits (no byte value stuck across ids)', () => {
    const tails = new Set(Array.from({ length: 1_000 }, () => uuidv7().slice(24)));
    expect(tails.size).toBe(1_000);
  });

  it('is accepted as the run and task ids of a step request and its result', () => {
    const runId = uuidv7();
    const taskId = uuidv7();
    const parsed = StepRequest.safeParse({
      type: 'workflow.step.request',
      version: 1,
      taskId,
      attempt: 1,
      runId,
      workflow: { name: 'w', version: 1 },
      step: 's',
      queue: 'q',
      input: null,
      replyTo: 'results',
      progressTo: 'progress',
      deadline: new Date(Date.now() + 1000).toISOString(),
      timeoutMs: 1000,
      idempotencyKey: `${runId}:s`,
    });
    expect(parsed.success).toBe(true);
    const result = StepResult.safeParse({
      type: 'workflow.step.result',
      version: 1,
      taskId,
      attempt: 1,
      runId,
      step: 's',
      status: 'succeeded',
      output: null,
    });
    expect(result.success).toBe(true);
  });
});
