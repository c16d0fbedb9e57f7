import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadT5 } from '../src/checkpoint';
import { useBackend } from './helpers';

// Checkpoints and logits written by fixtures/reference/make_reference.py, a NumPy re-statement
// of transformers' modeling_t5.py that shares no code with this library.
const FIXTURES = path.join(__dirname, 'fixtures/reference');

interface Expected {
  input_ids: number[][];
  attention_mask: number[][];
  decoder_input_ids: number[][];
  logits_shape: number[];
  logits: number[];
}

describe.each(['cpu', 'wasm'] as const)('forward pass vs the NumPy reference on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it.each(['t5-v1_0-tiny', 't5-v1_1-tiny'])('%s: logits match for a padded batch', (name) => {
    const dir = path.join(FIXTURES, name);
    const expected = JSON.parse(
      fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'),
    ) as Expected;
    const model = loadT5(dir);
    const logits = tf.tidy(() =>
      model
        .forward({
          inputIds: tf.tensor2d(expected.input_ids, undefined, 'int32'),
          attentionMask: tf.tensor2d(expected.attention_mask),
          decoderInputIds: tf.tensor2d(expected.decoder_input_ids, undefined, 'int32'),
        })
        .dataSync(),
    );
    expect(logits.length).toBe(expected.logits.length);
    let maxErr = 0;
    let maxAbs = 0;
    for (let i = 0; i < logits.length; i++) {
      maxErr = Math.max(maxErr, Math.abs((logits[i] as number) - (expected.logits[i] as number)));
      maxAbs = Math.max(maxAbs, Math.abs(expected.logits[i] as number));
    }
    expect(maxAbs).toBeGreaterThan(1); // logits are not trivially small
    expect(maxErr).toBeLessThan(2e-4);
    model.dispose();
  });
});
