import * as tf from '@tensorflow/tfjs-core';
import { collateSeq2Seq, disposeBatch } from '../src/batch';
import { createT5 } from '../src/create';
import { candidateProbabilities, greedyGenerate, scoreCandidates } from '../src/inference';
import type { T5Model } from '../src/model';
import { T5Trainer } from '../src/trainer';
import { TINY, useBackend, must } from './helpers';

beforeAll(() => useBackend('cpu'));

/** Sum of per-token log-probs of `target` from one teacher-forced forward pass. */
function forwardLogProb(model: T5Model, input: number[], target: number[]): number {
  return tf.tidy(() => {
    const logits = model.forward({
      inputIds: tf.tensor2d([input], undefined, 'int32'),
      attentionMask: tf.ones([1, input.length]) as tf.Tensor2D,
      decoderInputIds: tf.tensor2d([[0, ...target.slice(0, -1)]], undefined, 'int32'),
    });
    const lp = tf.logSoftmax(logits).arraySync() as number[][][];
    const rows = must(lp[0]);
    return target.reduce((s, id, t) => s + must(must(rows[t])[id]), 0);
  });
}

describe('inference', () => {
  let model: T5Model;
  beforeAll(() => {
    model = createT5(TINY, { seed: 9 });
  });
  afterAll(() => model.dispose());

  it('scores candidates of different lengths as the summed teacher-forced log-probs', () => {
    const inputs = [
      [5, 6, 7, 1],
      [8, 1],
      [9, 10, 11, 12, 13, 14, 1],
    ];
    const candidates = [
      [20, 1],
      [21, 22, 1],
      [23, 1],
    ];
    const before = tf.memory().numTensors;
    const scores = scoreCandidates(model, inputs, candidates);
    expect(tf.memory().numTensors).toBe(before);
    expect(scores.length).toBe(3);
    inputs.forEach((input, i) => {
      candidates.forEach((cand, c) => {
        expect(must(scores[i])[c]).toBeCloseTo(forwardLogProb(model, input, cand), 4);
      });
    });
    const probs = candidateProbabilities(scores);
    probs.forEach((row) => expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6));
  });

  it('greedy generation follows the argmax of the forward pass and stops at eos', () => {
    const inputs = [
      [5, 6, 7, 1],
      [9, 10, 1],
    ];
    const before = tf.memory().numTensors;
    const out = greedyGenerate(model, inputs, { maxNewTokens: 4 });
    expect(tf.memory().numTensors).toBe(before);
    inputs.forEach((input, i) => {
      const gen = must(out[i]);
      expect(gen.length).toBeGreaterThan(0);
      expect(gen.length).toBeLessThanOrEqual(4);
      // Each generated token must be the argmax given the prefix.
      for (let t = 0; t < gen.length; t++) {
        const next = tf.tidy(() => {
          const logits = model.forward({
            inputIds: tf.tensor2d([input], undefined, 'int32'),
            attentionMask: tf.ones([1, input.length]) as tf.Tensor2D,
            decoderInputIds: tf.tensor2d([[0, ...gen.slice(0, t)]], undefined, 'int32'),
          });
          return tf.argMax(tf.slice(logits, [0, t, 0], [1, 1, -1]), -1).dataSync()[0];
        });
        expect(gen[t]).toBe(next);
      }
    });
  });

  it('a trained model generates and ranks its labels', () => {
    const trained = createT5(TINY, { seed: 2 });
    const data = [
      { inputIds: [5, 6, 7, 1], labels: [20, 21, 1] },
      { inputIds: [9, 10, 1], labels: [22, 1] },
    ];
    const trainer = new T5Trainer(trained, { learningRate: 1e-2, seed: 2 });
    const batch = collateSeq2Seq(data, { padTokenId: 0, decoderStartTokenId: 0 });
    for (let i = 0; i < 60; i++) trainer.step(batch);
    disposeBatch(batch);
    trainer.dispose();
    expect(
      greedyGenerate(
        trained,
        data.map((d) => d.inputIds),
        { maxNewTokens: 5 },
      ),
    ).toEqual([
      [20, 21, 1],
      [22, 1],
    ]);
    const probs = candidateProbabilities(
      scoreCandidates(
        trained,
        data.map((d) => d.inputIds),
        [
          [20, 21, 1],
          [22, 1],
        ],
      ),
    );
    expect(must(probs[0])[0]).toBeGreaterThan(0.9);
    expect(must(probs[1])[1]).toBeGreaterThan(0.9);
    trained.dispose();
  });
});
