import * as tf from '@tensorflow/tfjs-core';
import { Adafactor } from '../src/adafactor';
import { collateSeq2Seq, disposeBatch } from '../src/batch';
import { createT5 } from '../src/create';
import { T5Trainer } from '../src/trainer';
import { TINY, maxAbsDiff, useBackend } from './helpers';

beforeAll(() => useBackend('cpu'));

// Worked by hand from transformers' Adafactor.step at step 1 (beta2t = 0, so the second
// moments are exactly the row/column means of g²).
describe('Adafactor', () => {
  it('uses factored row/column second moments for matrices', () => {
    const p = tf.variable(tf.zeros([2, 2]));
    const opt = new Adafactor();
    opt.apply(
      new Map([['w', p]]),
      new Map([
        [
          'w',
          tf.tensor2d([
            [1, 2],
            [3, 4],
          ]),
        ],
      ]),
      0.1,
    );
    // row = [2.5, 12.5], col = [5, 10]; update_ij = rsqrt(row_i / mean(row)) * rsqrt(col_j) * g_ij
    const expected = [0.7745967, 1.0954451, 1.0392305, 0.9797959].map((u) => -0.1 * u);
    expect(maxAbsDiff(p.dataSync(), expected)).toBeLessThan(1e-6);
    opt.dispose();
    p.dispose();
  });

  it('clips the update RMS and uses full second moments for vectors', () => {
    const w = tf.variable(tf.zeros([2, 2]));
    const b = tf.variable(tf.zeros([2]));
    const opt = new Adafactor({ clipThreshold: 0.5 });
    opt.apply(
      new Map<string, tf.Variable>([
        ['w', w],
        ['b', b],
      ]),
      new Map<string, tf.Tensor>([
        [
          'w',
          tf.tensor2d([
            [1, 2],
            [3, 4],
          ]),
        ],
        ['b', tf.tensor1d([2, -3])],
      ]),
      0.1,
    );
    // RMS of the unclipped matrix update is sqrt(0.96) = 0.9797959, so it is divided by 1.9595918.
    const expectedW = [0.7745967, 1.0954451, 1.0392305, 0.9797959].map(
      (u) => (-0.1 * u) / 1.9595918,
    );
    expect(maxAbsDiff(w.dataSync(), expectedW)).toBeLessThan(1e-6);
    // Vector: rsqrt(g²) * g = sign(g), RMS 1, clipped to 0.5.
    expect(maxAbsDiff(b.dataSync(), [-0.05, 0.05])).toBeLessThan(1e-6);
    const before = tf.memory().numTensors;
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before - 3); // row, col and the vector's moments
    tf.dispose([w, b]);
  });

  it('trains a tiny T5 through T5Trainer', () => {
    const model = createT5(TINY, { seed: 3 });
    const trainer = new T5Trainer(model, { learningRate: 1e-2, seed: 3, optimizer: 'adafactor' });
    const batch = collateSeq2Seq(
      [
        { inputIds: [5, 6, 7, 1], labels: [20, 1] },
        { inputIds: [9, 10, 1], labels: [21, 1] },
      ],
      { padTokenId: 0, decoderStartTokenId: 0 },
    );
    const first = trainer.step(batch).loss;
    for (let i = 0; i < 30; i++) trainer.step(batch);
    expect(trainer.evaluateLoss(batch)).toBeLessThan(0.3 * first);
    disposeBatch(batch);
    trainer.dispose();
    model.dispose();
    expect(
      () => new T5Trainer(model, { learningRate: 1, seed: 1, optimizer: 'sgd' as 'adamw' }),
    ).toThrow(/"sgd" is not supported/);
  });
});
