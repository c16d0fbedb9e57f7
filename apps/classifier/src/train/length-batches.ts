import { createRng, shuffle } from '@conveyor/t5';

export interface BatchPlanOptions {
  /** Upper bound on padded tokens per batch (batch size × longest input): keeps step cost even. */
  maxTokensPerBatch: number;
  maxBatchSize: number;
  seed: number;
  /** Each epoch gets its own shuffle, derived from (seed, epoch), so a resumed run replays it exactly. */
  epoch: number;
}

/**
 * Plans one epoch of batches, as indices into `lengths`. The input pipeline decides throughput on
 * CPU as on TPU: padding is wasted compute, so examples are shuffled, then sorted by length within
 * windows of ~50 batches ("bucketing"), cut into batches under a token budget (short questions
 * travel in large batches, long ones in small), and the batch order is shuffled again.
 */
export function planEpoch(lengths: readonly number[], options: BatchPlanOptions): number[][] {
  if (options.maxBatchSize < 1 || options.maxTokensPerBatch < 1) {
    throw new Error('maxBatchSize and maxTokensPerBatch must be ≥ 1');
  }
  const rng = createRng(`${options.seed}:${options.epoch}`);
  const order = shuffle(
    lengths.map((_, i) => i),
    rng,
  );
  const window = options.maxBatchSize * 50;
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += window) {
    const chunk = order
      .slice(start, start + window)
      .sort((a, b) => (lengths[a] as number) - (lengths[b] as number));
    let batch: number[] = [];
    let longest = 0;
    for (const i of chunk) {
      const len = lengths[i] as number;
      const wouldBe = Math.max(longest, len) * (batch.length + 1);
      if (
        batch.length > 0 &&
        (batch.length >= options.maxBatchSize || wouldBe > options.maxTokensPerBatch)
      ) {
        batches.push(batch);
        batch = [];
        longest = 0;
      }
      batch.push(i);
      longest = Math.max(longest, len);
    }
    if (batch.length > 0) batches.push(batch);
  }
  return shuffle(batches, rng);
}
