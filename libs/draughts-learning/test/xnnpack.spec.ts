/* eslint-disable @typescript-eslint/no-non-null-assertion -- in tests a missing value throws and fails the test, which is what we want */
// @conveyor/tfjs-runtime replaces wasm's BatchMatMul with a kernel that runs every product of a
// batch on XNNPACK (libs/tfjs-runtime/src/wasm-batch-matmul.ts). Search (the inference graph) and
// training (the forward and its gradients) both go through it; here both are held to the stock
// tfjs-backend-wasm kernel on the draughts network.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, useXnnpackBatchMatMul } from '@conveyor/tfjs-runtime';
import {
  BUNDLED_MODEL_DIR,
  buildInferenceGraph,
  encodePositions,
  forward,
  initParams,
  loadModel,
  SQUARES,
  type TransformerConfig,
} from '../src';
import { maxAbsDiff, randomPositions, trainingLogits } from './support';

/** Runs `fn` once with each BatchMatMul kernel; returns [xnnpack, stock]. */
function withBothKernels<T>(fn: () => T): [T, T] {
  try {
    useXnnpackBatchMatMul(true);
    const xnnpack = fn();
    useXnnpackBatchMatMul(false);
    const stock = fn();
    return [xnnpack, stock];
  } finally {
    useXnnpackBatchMatMul(true);
  }
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

describe('XNNPACK BatchMatMul on the draughts network', () => {
  beforeAll(async () => {
    const backend = await initBackend({ candidates: ['wasm'] });
    expect(backend.name).toBe('wasm');
  });

  it('gives the stock kernel’s logits through the inference graph and the training forward (committed model)', () => {
    const model = loadModel(BUNDLED_MODEL_DIR);
    const positions = randomPositions(300, 21);
    const { tokens, side } = encodePositions(positions);
    // The tfjs attention path: its attention products are the batched ones the XNNPACK kernel
    // takes over (the default wasm attention path leaves BatchMatMul only 2-D products).
    const graph = buildInferenceGraph(model.params, model.config, { attention: 'tfjs' });
    // Batch 300 (attention products batched over 1,200 heads), 1 and 37.
    for (const n of [positions.length, 1, 37]) {
      const [x, s] = withBothKernels(() => graph.logits(tokens, side, n).slice());
      expect(x.length).toBe(3 * n);
      expect(maxAbs(x)).toBeGreaterThan(0.01);
      expect(maxAbsDiff(x, s)).toBeLessThan(1e-5);
    }
    const [x, s] = withBothKernels(() =>
      trainingLogits(model.params, model.config, positions.slice(0, 64)),
    );
    expect(maxAbsDiff(x, s)).toBeLessThan(1e-5);
    graph.dispose();
  });

  it('gives the stock kernel’s loss gradients for every parameter (random weights)', () => {
    const config: TransformerConfig = { dModel: 16, heads: 4, ffn: 64, layers: 2 };
    const params = initParams(config, 5);
    let k = 0;
    for (const v of params.values())
      v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', 100 + ++k));
    const positions = randomPositions(48, 8);
    const { tokens, side } = encodePositions(positions);
    const targets = tf.tensor2d(
      Array.from({ length: positions.length * 3 }, (_, i) => ((i * 7919) % 11) / 10),
      [positions.length, 3],
    );
    const keyOf = new Map([...params].map(([key, v]) => [v.name, key]));
    const grads = (): Map<string, Float32Array> => {
      const out = new Map<string, Float32Array>();
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() =>
          tf.losses.sigmoidCrossEntropy(
            targets,
            forward(
              params,
              config,
              tf.tensor2d(tokens, [positions.length, SQUARES], 'int32'),
              tf.tensor1d(side, 'int32'),
            ),
          ),
        );
        out.set('loss', value.dataSync() as Float32Array);
        for (const [name, g] of Object.entries(grads))
          out.set(keyOf.get(name) ?? name, g.dataSync() as Float32Array);
      });
      return out;
    };
    const before = tf.memory().numTensors;
    const [x, s] = withBothKernels(grads);
    expect(tf.memory().numTensors).toBe(before);
    expect([...x.keys()].sort()).toEqual([...s.keys()].sort());
    expect(x.size).toBe(params.size + 1);
    for (const [name, gx] of x) {
      const gs = s.get(name)!;
      // Relative to the gradient's own scale: float32 sums in another order.
      expect(maxAbsDiff(gx, gs)).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs(gs)));
    }
    // The attention weights' gradient is not all zeros, so the comparison above means something.
    expect(maxAbs(x.get('l0.qkv')!)).toBeGreaterThan(1e-4);
    targets.dispose();
    params.forEach((v) => v.dispose());
  });
});
