import { DynamicBatcher, OverloadedError, type BatcherOptions } from '../src/serve/batcher';

/** A model stand-in that records the batches it was called with (the batcher is model-agnostic). */
function recordingRun(delayMs = 0) {
  const calls: number[][] = [];
  const run = async (inputs: number[]) => {
    calls.push([...inputs]);
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    return inputs.map((x) => x * 10);
  };
  return { calls, run };
}

/** A model stand-in whose calls finish only when the test releases them, one at a time. */
function gatedRun() {
  const calls: number[][] = [];
  const gates: (() => void)[] = [];
  let released = 0;
  const run = async (inputs: number[]) => {
    calls.push([...inputs]);
    await new Promise<void>((resolve) => {
      gates.push(resolve);
      if (gates.length <= released) resolve();
    });
    return inputs.map((x) => x * 10);
  };
  const release = () => {
    released += 1;
    gates[released - 1]?.();
  };
  return { calls, run, release };
}

/** A batcher over `run` with room for 100 queued items (only one test is about that limit). */
function batcherOf(
  run: BatcherOptions<number, number>['run'],
  options: Pick<BatcherOptions<number, number>, 'maxBatchSize' | 'maxWaitMs'>,
): DynamicBatcher<number, number> {
  return new DynamicBatcher({ ...options, maxQueuedItems: 100, run });
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setImmediate(r));
}

describe('DynamicBatcher', () => {
  it('groups submissions of the same turn of the event loop into one call', async () => {
    const { calls, run } = recordingRun();
    const batcher = batcherOf(run, { maxBatchSize: 16, maxWaitMs: 30 });
    const results = await Promise.all([
      batcher.submit([1]),
      batcher.submit([2, 3]),
      batcher.submit([4]),
    ]);
    expect(results).toEqual([[10], [20, 30], [40]]);
    expect(calls).toEqual([[1, 2, 3, 4]]);
  });

  it('flushes at once when a full batch is waiting and splits larger ones', async () => {
    const { calls, run } = recordingRun();
    const batcher = batcherOf(run, { maxBatchSize: 2, maxWaitMs: 10_000 });
    const started = Date.now();
    const out = await batcher.submit([1, 2, 3, 4]);
    expect(out).toEqual([10, 20, 30, 40]);
    expect(calls).toEqual([
      [1, 2],
      [3, 4],
    ]);
    // Two full batches never wait for the 10 s window.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('runs one batch at a time and collects what arrives meanwhile', async () => {
    const { calls, run } = recordingRun(50);
    const batcher = batcherOf(run, { maxBatchSize: 8, maxWaitMs: 0 });
    const first = batcher.submit([1]);
    await new Promise((r) => setTimeout(r, 10));
    const rest = [batcher.submit([2]), batcher.submit([3])];
    await Promise.all([first, ...rest]);
    expect(calls).toEqual([[1], [2, 3]]);
  });

  it('sends a lone item on an idle model at once, not after the wait window', async () => {
    const { calls, run } = recordingRun();
    const batcher = batcherOf(run, { maxBatchSize: 8, maxWaitMs: 600_000 });
    // Sequential requests, as one client sends them: none waits for the 10-minute window.
    for (const x of [1, 2, 3]) await expect(batcher.submit([x])).resolves.toEqual([x * 10]);
    expect(calls).toEqual([[1], [2], [3]]);
  });

  it('lets items that arrived while the model was busy go next without the wait window', async () => {
    const { calls, run, release } = gatedRun();
    const batcher = batcherOf(run, { maxBatchSize: 8, maxWaitMs: 600_000 });
    const first = batcher.submit([1]);
    await until(() => calls.length === 1);
    const rest = [batcher.submit([2]), batcher.submit([3])];
    release();
    await until(() => calls.length === 2);
    release();
    await expect(Promise.all([first, ...rest])).resolves.toEqual([[10], [20], [30]]);
    expect(calls).toEqual([[1], [2, 3]]);
  });

  it('under concurrent traffic, a lone item on an idle model waits for company', async () => {
    const { calls, run } = recordingRun();
    const batcher = batcherOf(run, { maxBatchSize: 2, maxWaitMs: 600_000 });
    await Promise.all([batcher.submit([1]), batcher.submit([2])]); // one batch of two
    const third = batcher.submit([3]);
    // Several turns of the event loop later it is still waiting (an idle model would have run it)...
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([[1, 2]]);
    // ...and goes with the next item, which fills the batch.
    await expect(Promise.all([third, batcher.submit([4])])).resolves.toEqual([[30], [40]]);
    expect(calls).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('rejects every item of a failed batch and keeps working', async () => {
    let fail = true;
    const batcher = batcherOf(
      async (xs) => {
        if (fail) throw new Error('boom');
        return xs;
      },
      { maxBatchSize: 4, maxWaitMs: 0 },
    );
    await expect(batcher.submit([1, 2])).rejects.toThrow('boom');
    fail = false;
    await expect(batcher.submit([3])).resolves.toEqual([3]);
  });

  it('refuses work beyond the queue limit with OverloadedError', async () => {
    const { run } = recordingRun(100);
    const batcher = new DynamicBatcher({ maxBatchSize: 1, maxWaitMs: 0, maxQueuedItems: 2, run });
    const a = batcher.submit([1]); // taken by the model at once
    const b = batcher.submit([2, 3]); // waits: the queue is now full
    await expect(batcher.submit([4])).rejects.toBeInstanceOf(OverloadedError);
    await Promise.all([a, b]);
    await batcher.close();
    await expect(batcher.submit([5])).rejects.toThrow(/shutting down/);
  });

  it('validates its options', () => {
    const { run } = recordingRun();
    expect(
      () => new DynamicBatcher({ maxBatchSize: 0, maxWaitMs: 1, maxQueuedItems: 1, run }),
    ).toThrow(/maxBatchSize/);
  });
});
