import * as tf from '@tensorflow/tfjs-core';
import { collateSeq2Seq, disposeBatch, type Seq2SeqExample } from '../src/batch';
import { createT5 } from '../src/create';
import { maskedCrossEntropy } from '../src/loss';
import { makeSchedule } from '../src/schedule';
import { clipByGlobalNorm } from '../src/optimizer';
import { T5Trainer } from '../src/trainer';
import { TINY, useBackend, must } from './helpers';

beforeAll(() => useBackend('cpu'));

// Three "questions" mapped to three one-token labels, as the classifier does.
const DATA: Seq2SeqExample[] = [
  { inputIds: [5, 6, 7, 8, 1], labels: [20, 1] },
  { inputIds: [9, 10, 1], labels: [21, 1] },
  { inputIds: [11, 12, 13, 1], labels: [22, 1] },
  { inputIds: [5, 12, 9, 1], labels: [21, 1] },
];

function train(seed: number, steps: number, dropoutRate = 0.1): number[] {
  const model = createT5({ ...TINY, dropoutRate }, { seed });
  const trainer = new T5Trainer(model, {
    learningRate: 1e-2,
    seed,
    warmupSteps: 5,
    maxGradNorm: 1,
  });
  const batch = collateSeq2Seq(DATA, { padTokenId: 0, decoderStartTokenId: 0 });
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) losses.push(trainer.step(batch).loss);
  losses.push(trainer.evaluateLoss(batch));
  disposeBatch(batch);
  trainer.dispose();
  model.dispose();
  return losses;
}

describe('training', () => {
  it('overfits a tiny dataset, identically for the same seed', () => {
    const a = train(3, 60);
    const b = train(3, 60);
    expect(b).toEqual(a); // bit-identical, dropout included
    const first = a[0] as number;
    const final = a[a.length - 1] as number;
    expect(first).toBeGreaterThan(2); // ~ln(40) at initialisation
    expect(final).toBeLessThan(0.1 * first);
    const c = train(4, 3);
    expect(c.slice(0, 3)).not.toEqual(a.slice(0, 3));
  });

  it('masks padded label positions out of the loss', () => {
    tf.tidy(() => {
      const logits = tf.randomNormal([2, 3, 5], 0, 1, 'float32', 1) as tf.Tensor3D;
      const labels = tf.tensor2d(
        [
          [1, 2, 0],
          [3, 0, 0],
        ],
        undefined,
        'int32',
      );
      const mask = tf.tensor2d([
        [1, 1, 0],
        [1, 0, 0],
      ]);
      const loss = maskedCrossEntropy(logits, labels, mask).dataSync()[0] as number;
      const lp = tf.logSoftmax(logits).arraySync() as number[][][];
      const at = (b: number, t: number, v: number) => must(must(must(lp[b])[t])[v]);
      const manual = -((at(0, 0, 1) + at(0, 1, 2) + at(1, 0, 3)) / 3);
      expect(loss).toBeCloseTo(manual, 5);
      // Label smoothing 0.1: 0.9 × nll + 0.1 × mean over the vocabulary of −log p, per token.
      const vocab = must(must(lp[0])[0]).length;
      const uniform = (b: number, t: number) =>
        -must(must(lp[b])[t]).reduce((a, x) => a + x, 0) / vocab;
      const smoothedManual =
        (0.9 * (-at(0, 0, 1) - at(0, 1, 2) - at(1, 0, 3)) +
          0.1 * (uniform(0, 0) + uniform(0, 1) + uniform(1, 0))) /
        3;
      const smoothed = maskedCrossEntropy(logits, labels, mask, 0.1).dataSync()[0] as number;
      expect(smoothed).toBeCloseTo(smoothedManual, 5);
      expect(smoothed).not.toBeCloseTo(loss, 3);
      expect(() => maskedCrossEntropy(logits, labels, mask, 1)).toThrow(/labelSmoothing/);
    });
  });

  it('keeps the tensor count flat across steps (no leaks)', () => {
    const model = createT5(TINY, { seed: 1 });
    const trainer = new T5Trainer(model, { learningRate: 1e-3, seed: 1 });
    const batch = collateSeq2Seq(DATA, { padTokenId: 0, decoderStartTokenId: 0 });
    trainer.step(batch); // creates the optimizer moments
    const after1 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) trainer.step(batch);
    expect(tf.memory().numTensors).toBe(after1);
    disposeBatch(batch);
    trainer.dispose();
    model.dispose();
  });

  it('clips the global gradient norm', () => {
    const grads = new Map([
      ['a', tf.tensor1d([3, 0])],
      ['b', tf.tensor1d([0, 4])],
    ]);
    const { grads: clipped, norm } = clipByGlobalNorm(grads, 1);
    expect(norm).toBeCloseTo(5, 5);
    expect(must(clipped.get('a')).dataSync()[0]).toBeCloseTo(0.6, 5);
    expect(must(clipped.get('b')).dataSync()[1]).toBeCloseTo(0.8, 5);
    tf.dispose([...grads.values(), ...clipped.values()]);
  });

  it('schedules learning rates with warm-up', () => {
    const linear = makeSchedule({ kind: 'linear', learningRate: 1, warmupSteps: 4, totalSteps: 8 });
    expect([0, 1, 3, 4, 6, 8].map(linear)).toEqual([0.25, 0.5, 1, 1, 0.5, 0]);
    const rsqrt = makeSchedule({ kind: 'inverse-sqrt', learningRate: 1, warmupSteps: 4 });
    expect(rsqrt(16)).toBeCloseTo(0.5, 10);
    expect(() => makeSchedule({ kind: 'linear', learningRate: 1, warmupSteps: 4 })).toThrow(
      /totalSteps > warmupSteps/,
    );
  });
});
