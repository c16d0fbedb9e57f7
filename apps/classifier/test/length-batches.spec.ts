import { learningCurveSvg } from '../src/train/learning-curve';
import { planEpoch } from '../src/train/length-batches';

describe('planEpoch', () => {
  const lengths = Array.from({ length: 500 }, (_, i) => 10 + ((i * 37) % 490));
  const options = { maxTokensPerBatch: 2048, maxBatchSize: 32, seed: 7, epoch: 0 };

  it('uses every example exactly once', () => {
    const flat = planEpoch(lengths, options)
      .flat()
      .sort((a, b) => a - b);
    expect(flat).toEqual(lengths.map((_, i) => i));
  });
  it('keeps batches under the token budget and the size cap (unless one example alone exceeds it)', () => {
    for (const batch of planEpoch(lengths, options)) {
      const longest = Math.max(...batch.map((i) => lengths[i] as number));
      expect(batch.length).toBeLessThanOrEqual(32);
      if (batch.length > 1) expect(longest * batch.length).toBeLessThanOrEqual(2048);
    }
  });
  it('pads less than arrival-order batching', () => {
    const padded = (batches: number[][]) =>
      batches.reduce(
        (sum, b) => sum + Math.max(...b.map((i) => lengths[i] as number)) * b.length,
        0,
      );
    const arrival = Array.from({ length: Math.ceil(500 / 16) }, (_, k) =>
      lengths.slice(k * 16, k * 16 + 16).map((_, j) => k * 16 + j),
    );
    expect(padded(planEpoch(lengths, options))).toBeLessThan(padded(arrival) * 0.7);
  });
  it('is a function of (seed, epoch)', () => {
    expect(planEpoch(lengths, options)).toEqual(planEpoch(lengths, options));
    expect(planEpoch(lengths, { ...options, epoch: 1 })).not.toEqual(planEpoch(lengths, options));
  });
});

describe('learningCurveSvg', () => {
  it('draws the three series with a phase marker', () => {
    const svg = learningCurveSvg(
      [
        { step: 10, phase: 'pretrain', trainLoss: 5 },
        { step: 20, phase: 'finetune', trainLoss: 2, validationLoss: 1.5, validationAccuracy: 0.5 },
        { step: 30, phase: 'finetune', trainLoss: 1, validationLoss: 1.2, validationAccuracy: 0.6 },
      ],
      'run <1>',
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('run &lt;1&gt;');
    expect(svg).toContain('pre-training | fine-tuning');
    expect(svg.match(/<path d="M[^"]+"/g)).toHaveLength(3);
  });
});
