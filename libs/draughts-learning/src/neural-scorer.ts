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
      const logits = forward(
        model.params,
        model.config,
        tf.tensor2d(tokens, [n, SQUARES], 'int32'),
        tf.tensor1d(side, 'int32'),
      );
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

/**
 * Material plus the network: men 1, kings `kingValue`, plus the network's P(win) − P(loss) in
 * [-1, 1]. With `materialWeight` 1 the network only orders positions of equal material (it can
 * never outweigh a man), which is how a weakly trained network still adds strength.
 */
export function materialPlusNeural(
  neural: NeuralScorer,
  materialWeight = 1,
  kingValue = 3,
): NeuralScorer {
  const scoreSync = (positions: readonly Position[]): Float32Array => {
    const out = neural.scoreSync(positions);
    positions.forEach((pos, i) => {
      const own = pos.turn === 'white' ? pos.white : pos.black;
      const opp = pos.turn === 'white' ? pos.black : pos.white;
      const m =
        count(own & ~pos.kings) +
        kingValue * count(own & pos.kings) -
        count(opp & ~pos.kings) -
        kingValue * count(opp & pos.kings);
      out[i] = (out[i] as number) + materialWeight * m;
    });
    return out;
  };
  return { ...neural, scoreSync, scoreBatch: (positions) => Promise.resolve(scoreSync(positions)) };
}

function count(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++;
  return n;
}
