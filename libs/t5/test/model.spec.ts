import * as tf from '@tensorflow/tfjs-core';
import { createT5 } from '../src/create';
import { collateSeq2Seq, disposeBatch } from '../src/batch';
import { TINY, maxAbsDiff, useBackend } from './helpers';

beforeAll(() => useBackend('cpu'));

function logitsFor(
  model: ReturnType<typeof createT5>,
  input: number[],
  decoderIn: number[],
): Float32Array {
  return tf.tidy(() => {
    const logits = model.forward({
      inputIds: tf.tensor2d([input], undefined, 'int32'),
      attentionMask: tf.ones([1, input.length]) as tf.Tensor2D,
      decoderInputIds: tf.tensor2d([decoderIn], undefined, 'int32'),
    });
    return logits.dataSync() as Float32Array;
  });
}

describe('T5Model forward', () => {
  let model: ReturnType<typeof createT5>;
  beforeAll(() => {
    model = createT5(TINY, { seed: 7 });
  });
  afterAll(() => model.dispose());

  it('produces [B, T, vocab] logits and is deterministic per seed', () => {
    const again = createT5(TINY, { seed: 7 });
    const other = createT5(TINY, { seed: 8 });
    const a = logitsFor(model, [3, 4, 5, 1], [0, 6, 7]);
    expect(a.length).toBe(3 * 40);
    expect(maxAbsDiff(a, logitsFor(again, [3, 4, 5, 1], [0, 6, 7]))).toBe(0);
    expect(maxAbsDiff(a, logitsFor(other, [3, 4, 5, 1], [0, 6, 7]))).toBeGreaterThan(1e-3);
    again.dispose();
    other.dispose();
  });

  it('is causal: changing a future decoder token leaves earlier logits unchanged', () => {
    const a = logitsFor(model, [3, 4, 5, 1], [0, 6, 7, 8]);
    const b = logitsFor(model, [3, 4, 5, 1], [0, 6, 9, 2]);
    const vocab = 40;
    // Positions 0 and 1 see only tokens 0..1, identical in both.
    expect(maxAbsDiff(a.subarray(0, 2 * vocab), b.subarray(0, 2 * vocab))).toBeLessThan(1e-6);
    // Position 2 sees the changed token, so it must differ (the test would be vacuous otherwise).
    expect(
      maxAbsDiff(a.subarray(2 * vocab, 3 * vocab), b.subarray(2 * vocab, 3 * vocab)),
    ).toBeGreaterThan(1e-4);
  });

  it('ignores encoder padding: a padded batch row equals the unpadded sequence', () => {
    const batch = collateSeq2Seq(
      [
        { inputIds: [3, 4, 1], labels: [6, 7, 1] },
        { inputIds: [9, 10, 11, 12, 13, 1], labels: [6, 1] },
      ],
      { padTokenId: 0, decoderStartTokenId: 0 },
    );
    const padded = tf.tidy(() => tf.slice(model.forward(batch), [0, 0, 0], [1, 3, 40]).dataSync());
    const alone = logitsFor(model, [3, 4, 1], [0, 6, 7]);
    expect(maxAbsDiff(padded, alone)).toBeLessThan(1e-5);
    disposeBatch(batch);
  });

  it('scales tied output by dModel^-0.5 and uses lm_head when untied (v1.1)', () => {
    const hidden = tf.randomNormal([1, 2, 16], 0, 1, 'float32', 3) as tf.Tensor3D;
    const tied = tf.tidy(() => model.lmHead(hidden).dataSync());
    const manual = tf.tidy(() =>
      tf
        .mul(
          tf.matMul(tf.reshape(hidden, [2, 16]), model.param('shared.weight'), false, true),
          16 ** -0.5,
        )
        .dataSync(),
    );
    expect(maxAbsDiff(tied, manual)).toBeLessThan(1e-5);
    const v11 = createT5(
      { ...TINY, feedForwardProj: 'gated-gelu', tieWordEmbeddings: false },
      { seed: 1 },
    );
    const untied = tf.tidy(() => v11.lmHead(hidden).dataSync());
    const manualUntied = tf.tidy(() =>
      tf.matMul(tf.reshape(hidden, [2, 16]), v11.param('lm_head.weight'), false, true).dataSync(),
    );
    expect(maxAbsDiff(untied, manualUntied)).toBeLessThan(1e-5);
    expect(logitsFor(v11, [3, 1], [0, 5]).every(Number.isFinite)).toBe(true);
    v11.dispose();
    hidden.dispose();
  });

  it('leaks no tensors', () => {
    const before = tf.memory().numTensors;
    logitsFor(model, [3, 4, 5, 1], [0, 6, 7]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses parameter maps that do not match the config', () => {
    const params = new Map(model.params);
    params.delete('decoder.final_layer_norm.weight');
    const Ctor = model.constructor as new (c: typeof model.config, p: typeof params) => unknown;
    expect(() => new Ctor(model.config, params)).toThrow(
      /"decoder.final_layer_norm.weight" is missing; expected shape \[16\]/,
    );
  });
});
