import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend';
import { createT5 } from '../src/create';
import { unsortedSegmentSumValues } from '../src/wasm-kernels';
import { TINY, maxAbsDiff, useBackend } from './helpers';

describe('backend selection', () => {
  it('skips the native backends that are not installed and says why', async () => {
    const logs: string[] = [];
    const choice = await initBackend({ candidates: ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'], log: (m) => logs.push(m) });
    expect(choice.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.skipped.map((s) => s.name)).toEqual(['tfjs-node-gpu', 'tfjs-node']);
    expect(choice.skipped[0]?.reason).toMatch(/@tensorflow\/tfjs-node-gpu is not installed/);
    expect(logs[0]).toMatch(/using TensorFlow.js backend wasm \(skipped tfjs-node-gpu: .*tfjs-node: /);
  });

  it('honours an explicit candidate list', async () => {
    const choice = await initBackend({ candidates: ['cpu'] });
    expect(choice).toEqual({ name: 'cpu', tfBackend: 'cpu', skipped: [] });
  });
});

describe('wasm UnsortedSegmentSum (gather gradient)', () => {
  it('sums rows by segment and drops out-of-range ids', () => {
    const out = unsortedSegmentSumValues(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 0, 2], 3, 2, 'float32');
    expect(Array.from(out)).toEqual([3, 4, 0, 0, 6, 8]);
    expect(Array.from(unsortedSegmentSumValues(new Int32Array([1, 2]), [5, 1], 2, 1, 'int32'))).toEqual([0, 2]);
  });

  it("gives gather's gradient on wasm equal to cpu's", async () => {
    const gradOn = async (backend: 'cpu' | 'wasm') => {
      await useBackend(backend);
      return tf.tidy(() => {
        const table = tf.tensor2d([...Array(12).keys()].map((i) => i * 0.5 - 2), [6, 2]);
        const ids = tf.tensor1d([4, 1, 4, 0, 5], 'int32');
        const weights = tf.tensor2d([1, -1, 2, 3, 0.5, 4, -2, 1, 1, 1], [5, 2]);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), weights)))(table);
        return Array.from(g.dataSync());
      });
    };
    const cpu = await gradOn('cpu');
    const wasm = await gradOn('wasm');
    expect(cpu).toEqual([-2, 1, 2, 3, 0, 0, 0, 0, 1.5, 3, 1, 1]);
    expect(wasm).toEqual(cpu);
  });

  it('runs the T5 forward pass and a gradient on wasm matching cpu', async () => {
    await useBackend('cpu');
    const model = createT5(TINY, { seed: 11 });
    const run = () =>
      tf.tidy(() => {
        const inputs = {
          inputIds: tf.tensor2d([[5, 6, 7, 8, 1], [9, 10, 1, 0, 0]], undefined, 'int32'),
          attentionMask: tf.tensor2d([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]),
          decoderInputIds: tf.tensor2d([[0, 3, 4], [0, 12, 13]], undefined, 'int32'),
        };
        const logits = Array.from(model.forward(inputs).dataSync());
        const { grads } = tf.variableGrads(() => tf.sum(tf.square(model.forward(inputs))) as tf.Scalar, [
          model.param('shared.weight'),
          model.param('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight'),
        ]);
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
