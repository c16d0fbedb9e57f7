import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src';
import { cpuAndWasm } from './cpu-and-wasm';

/** Deterministic values that differ per element (no symmetric shortcut can pass by accident). */
function values(shape: number[], salt: number): tf.Tensor {
  const size = shape.reduce((n, d) => n * d, 1);
  const v = Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37 + salt) * 2 - 0.3);
  return tf.tensor(v, shape);
}

interface Case {
  name: string;
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
  /** tfjs-core's own matMul gradient does not support broadcast batch dimensions. */
  noGradient?: boolean;
}

const CASES: Case[] = [];
for (const transposeA of [false, true]) {
  for (const transposeB of [false, true]) {
    const tag = `${transposeA ? 'Aᵀ' : 'A'}·${transposeB ? 'Bᵀ' : 'B'}`;
    CASES.push({
      name: `2-D ${tag}`,
      a: transposeA ? [7, 5] : [5, 7],
      b: transposeB ? [3, 7] : [7, 3],
      transposeA,
      transposeB,
    });
    CASES.push({
      name: `batch 4 ${tag}`,
      a: transposeA ? [4, 6, 5] : [4, 5, 6],
      b: transposeB ? [4, 9, 6] : [4, 6, 9],
      transposeA,
      transposeB,
    });
    CASES.push({
      name: `rank 4 (attention-like) ${tag}`,
      a: transposeA ? [2, 3, 8, 6] : [2, 3, 6, 8],
      b: transposeB ? [2, 3, 6, 8] : [2, 3, 8, 6],
      transposeA,
      transposeB,
    });
  }
}
// A broadcast batch dimension goes to the stock kernel.
CASES.push({
  name: 'broadcast batch',
  a: [1, 5, 4],
  b: [3, 4, 2],
  transposeA: false,
  transposeB: false,
  noGradient: true,
});

function run(c: Case): { product: number[]; shape: number[]; gradA: number[]; gradB: number[] } {
  return tf.tidy(() => {
    const a = values(c.a, 1);
    const b = values(c.b, 2);
    const product = tf.matMul(a, b, c.transposeA, c.transposeB);
    if (c.noGradient)
      return {
        product: Array.from(product.dataSync()),
        shape: product.shape,
        gradA: [],
        gradB: [],
      };
    const weights = values(product.shape, 3);
    const [gradA, gradB] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(tf.matMul(x, y, c.transposeA, c.transposeB), weights)),
    )([a, b]) as [tf.Tensor, tf.Tensor];
    return {
      product: Array.from(product.dataSync()),
      shape: product.shape,
      gradA: Array.from(gradA.dataSync()),
      gradB: Array.from(gradB.dataSync()),
    };
  });
}

function expectClose(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  const worst = Math.max(0, ...actual.map((v, i) => Math.abs(v - (expected[i] as number))));
  expect(worst).toBeLessThan(1e-4);
}

describe('BatchMatMul on wasm (XNNPACK for every batch entry and transpose)', () => {
  it.each(CASES.map((c) => [c.name, c] as const))(
    '%s: same product and gradients as the cpu backend',
    async (_name, c) => {
      const { cpu, wasm } = await cpuAndWasm(() => run(c));
      expect(wasm.shape).toEqual(cpu.shape);
      expectClose(wasm.product, cpu.product);
      expectClose(wasm.gradA, cpu.gradA);
      expectClose(wasm.gradB, cpu.gradB);
    },
  );

  it('leaves no wasm heap allocations behind', async () => {
    await initBackend({ candidates: ['wasm'] });
    const a = values([16, 32, 24], 4);
    const b = values([16, 40, 24], 5);
    tf.matMul(a, b, false, true).dispose(); // warm-up: XNNPACK and heap growth
    const before = tf.memory();
    for (let i = 0; i < 5; i++) tf.matMul(a, b, false, true).dispose();
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    tf.dispose([a, b]);
  });
});
