import * as tf from '@tensorflow/tfjs-core';
import { collateSeq2Seq, disposeBatch, padSequences, shiftRight } from '../src/batch';
import { createT5 } from '../src/create';
import { candidateProbabilities, greedyGenerate, scoreCandidates } from '../src/inference';
import type { T5Model } from '../src/model';
import { tokenLogProbs } from '../src/loss';
import { T5Trainer } from '../src/trainer';
import { TINY, maxAbsDiff, useBackend, must } from './helpers';

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
    // The first call keeps the position biases of these lengths for reuse; later calls add nothing.
    scoreCandidates(model, inputs, candidates);
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
    greedyGenerate(model, inputs, { maxNewTokens: 4 });
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

  it('scores exactly as one decoder row per (input, candidate) with freshly gathered biases', () => {
    const m = createT5(
      { ...TINY, feedForwardProj: 'gated-gelu', tieWordEmbeddings: false },
      { seed: 4 },
    );
    const inputs = [
      Array.from({ length: 40 }, (_, i) => 2 + (i % 37)),
      [5, 6, 7, 1],
      Array.from({ length: 23 }, (_, i) => 3 + ((i * 7) % 36)),
    ];
    const candidates = [
      [20, 1],
      [21, 22, 1],
      [23, 1],
      [24, 1],
    ];
    const compare = () => {
      const expected = referenceScores(m, inputs, candidates);
      const actual = scoreCandidates(m, inputs, candidates);
      expect(maxAbsDiff(actual.flat(), expected.flat())).toBeLessThan(1e-5);
      // Alone, as a served request is scored, each input gets the same scores.
      inputs.forEach((input, i) => {
        const alone = must(scoreCandidates(m, [input], candidates)[0]);
        expect(maxAbsDiff(alone, must(expected[i]))).toBeLessThan(1e-5);
      });
    };
    compare();
    compare(); // now with the reused biases
    // New weights (as an optimiser step assigns them) are read, not the reused values of the old.
    for (const name of [
      'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight',
      'decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight',
      'encoder.block.1.layer.0.SelfAttention.q.weight',
      'decoder.block.0.layer.1.EncDecAttention.v.weight',
      'decoder.block.1.layer.2.DenseReluDense.wo.weight',
      'lm_head.weight',
    ]) {
      const w = m.param(name);
      w.assign(tf.tidy(() => tf.add(tf.mul(w, -2), 0.05)));
    }
    compare();
    m.dispose();
  });

  it('refuses the inference option while training', () => {
    const m = createT5({ ...TINY, dropoutRate: 0.1 }, { seed: 1 });
    expect(() =>
      tf.tidy(() =>
        m.encode(tf.tensor2d([[5, 6, 1]], undefined, 'int32'), tf.ones([1, 3]) as tf.Tensor2D, {
          training: true,
          nextDropoutSeed: () => 1,
          inference: true,
        }),
      ),
    ).toThrow(/the inference option cannot be used in training/);
    m.dispose();
  });

  it('frees the reused biases and transposed weights with the model', () => {
    const start = tf.memory().numTensors;
    const m = createT5(TINY, { seed: 5 });
    const weights = tf.memory().numTensors - start;
    for (let n = 2; n < 14; n++)
      scoreCandidates(m, [Array.from({ length: n }, () => 7)], [[20, 1]]);
    expect(tf.memory().numTensors - start).toBeGreaterThan(weights);
    m.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });
});

/**
 * scoreCandidates as it was before the serving path was optimised: every (input, candidate) pair
 * its own decoder row over a copy of the input's encoder states, position biases gathered anew.
 */
function referenceScores(model: T5Model, inputs: number[][], candidates: number[][]): number[][] {
  return tf.tidy(() => {
    const enc = padSequences(inputs, 0);
    const b = inputs.length;
    const c = candidates.length;
    const mask = tf.tensor2d(enc.mask, [b, enc.length]);
    const hidden = model.encode(tf.tensor2d(enc.ids, [b, enc.length], 'int32'), mask);
    const lab = padSequences(candidates, 0);
    const dec = padSequences(
      candidates.map((x) => shiftRight(x, 0)),
      0,
    );
    const rows = Array.from({ length: b * c }, (_, r) => Math.floor(r / c));
    const tile = (x: ArrayLike<number>) =>
      rows.flatMap((_, r) => Array.from(x).slice((r % c) * lab.length, ((r % c) + 1) * lab.length));
    const logits = model.decode(
      tf.tensor2d(tile(dec.ids), [b * c, lab.length], 'int32'),
      tf.gather(hidden, rows),
      tf.gather(mask, rows),
    );
    const perToken = tokenLogProbs(
      logits,
      tf.tensor2d(tile(lab.ids), [b * c, lab.length], 'int32'),
    );
    const scores = tf.sum(tf.mul(perToken, tf.tensor2d(tile(lab.mask), [b * c, lab.length])), -1);
    const flat = Array.from(scores.dataSync());
    return Array.from({ length: b }, (_, i) => flat.slice(i * c, (i + 1) * c));
  });
}
