import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src';
import { cpuAndWasm } from './cpu-and-wasm';

interface Case {
  name: string;
  x: number[];
  dtype: 'float32' | 'int32' | 'bool';
  indices: number[];
  indexShape: number[];
  axis: number;
  batchDims?: number;
}

const CASES: Case[] = [
  {
    name: 'embedding rows (axis 0)',
    x: [50, 16],
    dtype: 'float32',
    indices: [3, 0, 49, 3, 17, 8],
    indexShape: [6],
    axis: 0,
  },
  {
    name: 'rows of 2 (position bias)',
    x: [32, 2],
    dtype: 'float32',
    indices: [31, 0, 5, 5, 12],
    indexShape: [5],
    axis: 0,
  },
  { name: 'rows of 1', x: [9], dtype: 'float32', indices: [8, 1, 1, 0], indexShape: [4], axis: 0 },
  {
    name: '2-D indices',
    x: [10, 3, 4],
    dtype: 'float32',
    indices: [1, 9, 0, 2, 2, 7],
    indexShape: [2, 3],
    axis: 0,
  },
  {
    name: 'inner axis',
    x: [3, 7, 5],
    dtype: 'float32',
    indices: [6, 0, 3],
    indexShape: [3],
    axis: 1,
  },
  { name: 'last axis', x: [4, 6], dtype: 'float32', indices: [5, 5, 0], indexShape: [3], axis: -1 },
  {
    name: 'batch dims',
    x: [2, 5, 3],
    dtype: 'float32',
    indices: [4, 0, 1, 3],
    indexShape: [2, 2],
    axis: 1,
    batchDims: 1,
  },
  {
    name: 'int32 values',
    x: [12, 10],
    dtype: 'int32',
    indices: [11, 2, 2],
    indexShape: [3],
    axis: 0,
  },
  {
    name: 'bool values (stock kernel)',
    x: [6, 2],
    dtype: 'bool',
    indices: [5, 1],
    indexShape: [2],
    axis: 0,
  },
  { name: 'no indices', x: [6, 4], dtype: 'float32', indices: [], indexShape: [0], axis: 0 },
];

function run(c: Case): { values: number[]; shape: number[] } {
  return tf.tidy(() => {
    const size = c.x.reduce((n, d) => n * d, 1);
    const raw = Array.from(
      { length: size },
      (_, i) => Math.round(Math.sin(i * 0.37 + 1) * 1000) / 7,
    );
    const x =
      c.dtype === 'bool'
        ? tf.tensor(
            raw.map((v) => v > 0),
            c.x,
            'bool',
          )
        : tf.tensor(c.dtype === 'int32' ? raw.map(Math.round) : raw, c.x, c.dtype);
    const out = tf.gather(x, tf.tensor(c.indices, c.indexShape, 'int32'), c.axis, c.batchDims ?? 0);
    return { values: Array.from(out.dataSync()), shape: out.shape };
  });
}

describe('GatherV2 on wasm (row copies on the heap)', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s: same as the cpu backend', async (_n, c) => {
    const { cpu, wasm } = await cpuAndWasm(() => run(c));
    expect(wasm).toEqual(cpu);
  });

  it('refuses an index outside the axis, naming it', async () => {
    await initBackend({ candidates: ['wasm'] });
    const x = tf.zeros([4, 3]);
    const bad = tf.tensor1d([1, 4], 'int32');
    expect(() => tf.gather(x, bad)).toThrow('GatherV2: the index value 4 is not in [0, 3]');
    tf.dispose([x, bad]);
  });

  it('gives the same gradient as the cpu backend (embedding training)', async () => {
    const grad = () =>
      tf.tidy(() => {
        const table = tf.tensor(
          Array.from({ length: 40 }, (_, i) => i / 10),
          [10, 4],
        );
        const ids = tf.tensor1d([3, 3, 9, 0], 'int32');
        const weights = tf.tensor(
          Array.from({ length: 16 }, (_, i) => Math.cos(i)),
          [4, 4],
        );
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), weights)))(table);
        return Array.from(g.dataSync());
      });
    const { cpu, wasm } = await cpuAndWasm(grad);
    expect(Math.max(...wasm.map((v, i) => Math.abs(v - (cpu[i] as number))))).toBeLessThan(1e-6);
  });
});
