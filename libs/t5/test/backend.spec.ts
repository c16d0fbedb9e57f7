import * as tf from '@tensorflow/tfjs-core';
import { createT5 } from '../src/create';
import { TINY, maxAbsDiff, useBackend } from './helpers';

// Backend choice and the UnsortedSegmentSum kernel are tested in libs/tfjs-runtime; this checks
// that the whole T5 model trains on wasm exactly as on cpu.
describe('T5 on the wasm backend', () => {
  it('runs the T5 forward pass and a gradient on wasm matching cpu', async () => {
    await useBackend('cpu');
    const model = createT5(TINY, { seed: 11 });
    const run = () =>
      tf.tidy(() => {
        const inputs = {
          inputIds: tf.tensor2d(
            [
              [5, 6, 7, 8, 1],
              [9, 10, 1, 0, 0],
            ],
            undefined,
            'int32',
          ),
          attentionMask: tf.tensor2d([
            [1, 1, 1, 1, 1],
            [1, 1, 1, 0, 0],
          ]),
          decoderInputIds: tf.tensor2d(
            [
              [0, 3, 4],
              [0, 12, 13],
            ],
            undefined,
            'int32',
          ),
        };
        const logits = Array.from(model.forward(inputs).dataSync());
        const { grads } = tf.variableGrads(
          () => tf.sum(tf.square(model.forward(inputs))) as tf.Scalar,
          [
            model.param('shared.weight'),
            model.param('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight'),
          ],
        );
        return { logits, grads: Object.values(grads).map((t) => Array.from(t.dataSync())) };
      });
    const cpu = run();
    await useBackend('wasm');
    const wasm = run();
    expect(maxAbsDiff(cpu.logits, wasm.logits)).toBeLessThan(1e-4);
    expect(cpu.grads.length).toBe(2);
    cpu.grads.forEach((g, i) => {
      expect(g.some((v) => v !== 0)).toBe(true);
      expect(maxAbsDiff(g, wasm.grads[i] as number[])).toBeLessThan(1e-3);
    });
    model.dispose();
  });
});
