/**
 * The transformer as a batch scorer for search: one forward per batch, inputs built in typed
 * arrays, results read once (dataSync) into a Float32Array. Score = P(win) − P(loss) for the
 * side to move, in [-1, 1].
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BatchScorer, Position } from '@conveyor/draughts';
import { encodePositions, SQUARES } from './encoding';
import { forward } from './transformer';
import type { LoadedModel } from './model-io';

export interface NeuralScorer extends BatchScorer {
  /** Model calls made so far (one per scoreBatch). */
  readonly calls: () => number;
  /** Synchronous variant of scoreBatch (same single forward). */
  scoreSync(positions: readonly Position[]): Float32Array;
}

export function neuralScorer(model: LoadedModel): NeuralScorer {
  let calls = 0;
  const scoreSync = (positions: readonly Position[]): Float32Array => {
    const n = positions.length;
    if (n === 0) return new Float32Array(0);
    calls++;
    const { tokens, side } = encodePositions(positions);
    const probs = tf.tidy(() => {
      const logits = forward(model.params, model.config, tf.tensor2d(tokens, [n, SQUARES], 'int32'), tf.tensor1d(side, 'int32'));
      return tf.sigmoid(logits);
    });
    const p = probs.dataSync() as Float32Array;
    probs.dispose();
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = (p[3 * i] as number) - (p[3 * i + 2] as number);
    return out;
  };
  return {
    kind: 'batch',
    calls: () => calls,
    scoreSync,
    scoreBatch: (positions) => Promise.resolve(scoreSync(positions)),
  };
}
