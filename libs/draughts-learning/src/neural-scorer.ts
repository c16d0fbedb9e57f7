/**
 * The transformer as a batch scorer for search: one forward per batch through the dedicated
 * inference graph (inference.ts), inputs built in typed arrays, logits read once into a
 * Float32Array. Score = P(win) − P(loss) for the side to move, in [-1, 1].
 */
import type { BatchScorer, Position } from '@conveyor/draughts';
import { encodePositions } from './encoding';
import { buildInferenceGraph, type InferenceGraphOptions } from './inference';
import type { LoadedModel } from './model-io';

export interface NeuralScorer extends BatchScorer {
  /** Model calls made so far (one per scoreBatch). */
  readonly calls: () => number;
  /** Synchronous variant of scoreBatch (same single forward). */
  scoreSync(positions: readonly Position[]): Float32Array;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * Scores with the model's weights as they are now (the inference graph copies them once).
 * `graphOptions` picks the attention path (default: wasm SIMD when the model allows it).
 */
export function neuralScorer(
  model: LoadedModel,
  graphOptions: InferenceGraphOptions = {},
): NeuralScorer {
  let calls = 0;
  const graph = buildInferenceGraph(model.params, model.config, graphOptions);
  const scoreSync = (positions: readonly Position[]): Float32Array => {
    const n = positions.length;
    if (n === 0) return new Float32Array(0);
    calls++;
    const { tokens, side } = encodePositions(positions);
    const logits = graph.logits(tokens, side, n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++)
      out[i] = sigmoid(logits[3 * i] as number) - sigmoid(logits[3 * i + 2] as number);
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
