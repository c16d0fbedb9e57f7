import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_ORDER, initBackend, parseBackendList, unsortedSegmentSumValues } from '../src';

describe('initBackend', () => {
  it('skips the native packages with a reason and lands on wasm by default', async () => {
    const lines: string[] = [];
    const choice = await initBackend({ env: {}, log: (l) => lines.push(l) });
    // tfjs-node cannot be installed on the CI machine; if it ever is, the first choice wins instead.
    if (choice.name === 'wasm') {
      expect(choice.skipped.map((s) => s.name)).toEqual(['tfjs-node-gpu', 'tfjs-node']);
      expect(choice.skipped[0]?.reason).toMatch(/tfjs-node-gpu (is not installed|failed to load)/);
      expect(lines[0]).toMatch(
        /using TensorFlow.js backend wasm \(skipped tfjs-node-gpu: .*; tfjs-node: /,
      );
    }
    expect(tf.getBackend()).toBe(choice.tfBackend);
  });

  it('honours TFJS_BACKEND', async () => {
    const choice = await initBackend({ env: { TFJS_BACKEND: 'cpu' } });
    expect(choice).toEqual({ name: 'cpu', tfBackend: 'cpu', skipped: [] });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('rejects unknown backend names with the valid list', () => {
    expect(() => parseBackendList('wasm,gpu')).toThrow(
      /"gpu" is not one of tfjs-node-gpu, tfjs-node, wasm, cpu/,
    );
    expect(parseBackendList(' ')).toBeUndefined();
    expect(parseBackendList('wasm, cpu')).toEqual(['wasm', 'cpu']);
  });

  it('fails with every reason when nothing can start', async () => {
    await expect(initBackend({ candidates: ['tfjs-node-gpu', 'tfjs-node'] })).rejects.toThrow(
      /no TensorFlow.js backend could start: tfjs-node-gpu: .*tfjs-node: .*TFJS_BACKEND/,
    );
    expect(BACKEND_ORDER).toEqual(['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu']);
  });
});

describe('UnsortedSegmentSum on wasm', () => {
  function gatherGradient(): { grad: number[]; shape: number[] } {
    const table = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 3]);
    const ids = tf.tensor1d([2, 0, 2, 1, 2], 'int32');
    const weights = tf.tensor2d([[0.5], [-1], [2], [3], [0.25]]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), weights)))(table);
    return { grad: Array.from(g.dataSync()), shape: g.shape };
  }

  it('gives the same gather gradient as the cpu backend', async () => {
    await initBackend({ candidates: ['cpu'] });
    const cpu = gatherGradient();
    await initBackend({ candidates: ['wasm'] });
    const wasm = gatherGradient();
    expect(wasm.shape).toEqual([3, 3]);
    expect(wasm.grad).toEqual(cpu.grad);
    // Row 2 collects 0.5 + 2 + 0.25 on every column.
    expect(wasm.grad.slice(6)).toEqual([2.75, 2.75, 2.75]);
  });

  it('drops out-of-range ids as TensorFlow does', () => {
    const out = unsortedSegmentSumValues(new Float32Array([1, 2, 3]), [0, 5, -1], 2, 1, 'float32');
    expect(Array.from(out)).toEqual([1, 0]);
  });
});
