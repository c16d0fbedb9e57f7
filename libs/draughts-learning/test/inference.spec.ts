/* eslint-disable @typescript-eslint/no-non-null-assertion -- in tests a missing value throws and fails the test, which is what we want */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@conveyor/tfjs-runtime';
import {
  BUNDLED_MODEL_DIR,
  buildInferenceGraph,
  buildTrainingSet,
  encodePositions,
  evaluateLoss,
  forward,
  gameSeed,
  initParams,
  loadModel,
  neuralScorer,
  playSelfPlayGame,
  SQUARES,
  type Params,
  type TransformerConfig,
} from '../src';
import { maxAbsDiff, randomPositions, trainingLogits } from './support';

/** Every parameter random (gains and biases too), so a wrong fold of LayerNorm or scale shows. */
function randomParams(config: TransformerConfig, seed: number): Params {
  const params = initParams(config, seed);
  let k = 0;
  for (const v of params.values())
    v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', seed + ++k));
  return params;
}

describe('inference graph', () => {
  beforeAll(async () => {
    await initBackend({ candidates: ['wasm'] });
  });

  it.each<[string, 'wasm' | 'tfjs', TransformerConfig]>([
    ['committed shape', 'wasm', { dModel: 16, heads: 4, ffn: 64, layers: 2 }],
    ['committed shape', 'tfjs', { dModel: 16, heads: 4, ffn: 64, layers: 2 }],
    ['wider, 3 layers', 'tfjs', { dModel: 24, heads: 3, ffn: 32, layers: 3 }],
    ['one layer', 'wasm', { dModel: 8, heads: 2, ffn: 16, layers: 1 }],
    ['one layer', 'tfjs', { dModel: 8, heads: 2, ffn: 16, layers: 1 }],
  ])(
    'equals the training forward within 1e-5 on random positions and weights (%s, %s attention)',
    (_, attention, config) => {
      const params = randomParams(config, 11);
      const graph = buildInferenceGraph(params, config, { attention });
      expect(graph.attention).toBe(attention);
      const positions = randomPositions(70, 3);
      const { tokens, side } = encodePositions(positions);
      const reference = trainingLogits(params, config, positions);
      // Whole batch, a single position and an odd-sized part: scratch buffers are reused across sizes.
      expect(maxAbsDiff(graph.logits(tokens, side, positions.length), reference)).toBeLessThan(
        1e-5,
      );
      expect(maxAbsDiff(graph.logits(tokens, side, 1), reference.subarray(0, 3))).toBeLessThan(
        1e-5,
      );
      expect(maxAbsDiff(graph.logits(tokens, side, 13), reference.subarray(0, 39))).toBeLessThan(
        1e-5,
      );
      graph.dispose();
      params.forEach((v) => v.dispose());
    },
  );

  it('scores the committed model as P(win) − P(loss) of the training forward, leaking no tensors', () => {
    const model = loadModel(BUNDLED_MODEL_DIR);
    const positions = randomPositions(40, 9);
    const reference = trainingLogits(model.params, model.config, positions);
    const scorer = neuralScorer(model);
    const before = tf.memory().numTensors;
    const scores = scorer.scoreSync(positions);
    scorer.scoreSync(positions.slice(0, 5));
    expect(tf.memory().numTensors).toBe(before);
    const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
    scores.forEach((v, i) =>
      expect(
        Math.abs(v - (sigmoid(reference[3 * i]!) - sigmoid(reference[3 * i + 2]!))),
      ).toBeLessThan(1e-5),
    );
  });

  it('evaluates the validation loss tf.losses.sigmoidCrossEntropy gives on the training forward', () => {
    const config: TransformerConfig = { dModel: 8, heads: 2, ffn: 16, layers: 2 };
    const params = randomParams(config, 4);
    const d1 = { label: 'd1', depth: 1 };
    const records = Array.from({ length: 3 }, (_, id) =>
      playSelfPlayGame({ white: d1, black: d1, id, seed: gameSeed(5, id), maxPlies: 40 }),
    );
    const set = buildTrainingSet(records);
    const idx = Array.from({ length: set.count }, (_, i) => i).filter((i) => i % 2 === 0);
    const positions = idx.map((i) => set.tokens.subarray(i * SQUARES, (i + 1) * SQUARES));
    const expected = tf.tidy(() =>
      tf.losses.sigmoidCrossEntropy(
        tf.tensor2d(
          idx.flatMap((i) => Array.from(set.targets.subarray(i * 3, i * 3 + 3))),
          [idx.length, 3],
        ),
        forward(
          params,
          config,
          tf.tensor2d(
            positions.flatMap((t) => Array.from(t)),
            [idx.length, SQUARES],
            'int32',
          ),
          tf.tensor1d(
            idx.map((i) => set.side[i]!),
            'int32',
          ),
        ),
      ),
    );
    const want = expected.dataSync()[0]!;
    expected.dispose();
    // Batches of 7 exercise the partial last batch.
    expect(Math.abs(evaluateLoss(params, config, set, idx, 7) - want)).toBeLessThan(1e-5);
  });

  it('uses the wasm attention by default for heads of width 4, tfjs otherwise', () => {
    const four: TransformerConfig = { dModel: 16, heads: 4, ffn: 16, layers: 1 };
    const eight: TransformerConfig = { dModel: 24, heads: 3, ffn: 16, layers: 1 };
    expect(buildInferenceGraph(initParams(four, 1), four).attention).toBe('wasm');
    expect(buildInferenceGraph(initParams(eight, 1), eight).attention).toBe('tfjs');
    expect(() => buildInferenceGraph(initParams(eight, 1), eight, { attention: 'wasm' })).toThrow(
      /heads of width 4/,
    );
  });

  it('wasm attention keeps agreeing with the tfjs path as its memory grows (batch 1 → 1,500)', () => {
    const config: TransformerConfig = { dModel: 16, heads: 4, ffn: 32, layers: 2 };
    const params = randomParams(config, 17);
    const wasm = buildInferenceGraph(params, config, { attention: 'wasm' });
    const tfjs = buildInferenceGraph(params, config, { attention: 'tfjs' });
    const positions = randomPositions(1500, 23);
    const { tokens, side } = encodePositions(positions);
    for (const n of [1, 300, 1500, 7]) {
      const a = wasm.logits(tokens, side, n).slice();
      const b = tfjs.logits(tokens, side, n);
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
    }
    wasm.dispose();
    tfjs.dispose();
    params.forEach((v) => v.dispose());
  });

  it('rejects an input shorter than the batch it is asked to score', () => {
    const config: TransformerConfig = { dModel: 8, heads: 2, ffn: 16, layers: 1 };
    const graph = buildInferenceGraph(initParams(config, 1), config);
    expect(() => graph.logits(new Int32Array(SQUARES), new Int32Array(1), 2)).toThrow(
      /need 64 tokens and 2 sides/,
    );
  });
});
