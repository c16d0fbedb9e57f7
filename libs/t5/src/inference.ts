// Batched inference: greedy decoding and scoring a fixed set of candidate target sequences.
import * as tf from '@tensorflow/tfjs-core';
import { padSequences, shiftRight } from './batch';
import { tokenLogProbs } from './loss';
import type { ForwardOptions, T5Model } from './model';

// Inference runs outside any gradient, so what depends on the weights alone is reused.
const INFERENCE: ForwardOptions = { inference: true };

function encodeBatch(
  model: T5Model,
  inputs: number[][],
): { hidden: tf.Tensor3D; attentionMask: tf.Tensor2D } {
  if (inputs.length === 0) throw new Error('need at least one input sequence');
  const enc = padSequences(inputs, model.config.padTokenId);
  return tf.tidy(() => {
    const inputIds = tf.tensor2d(enc.ids, [inputs.length, enc.length], 'int32');
    const attentionMask = tf.tensor2d(enc.mask, [inputs.length, enc.length], 'float32');
    return { hidden: model.encode(inputIds, attentionMask, INFERENCE), attentionMask };
  });
}

export interface GenerateOptions {
  /** Maximum tokens to produce per sequence (eos included). */
  maxNewTokens: number;
  /** Stop token; default config.eosTokenId. */
  eosTokenId?: number;
}

/**
 * Greedy decoding for a batch of encoder inputs. Returns generated ids without the decoder start
 * token, up to and including eos. Recomputes the decoder over the prefix at each step (no
 * key/value cache), which is cheap for the short label sequences this library targets.
 */
export function greedyGenerate(
  model: T5Model,
  inputs: number[][],
  options: GenerateOptions,
): number[][] {
  const eos = options.eosTokenId ?? model.config.eosTokenId;
  const { hidden, attentionMask } = encodeBatch(model, inputs);
  const b = inputs.length;
  const out: number[][] = inputs.map(() => []);
  const done = new Array<boolean>(b).fill(false);
  try {
    for (let step = 0; step < options.maxNewTokens && done.some((d) => !d); step++) {
      const prefix = out.map((o) => [model.config.decoderStartTokenId, ...o]);
      const len = step + 1;
      const ids = new Int32Array(b * len);
      prefix.forEach((p, i) => p.forEach((id, t) => (ids[i * len + t] = id)));
      const next = tf.tidy(() => {
        const dec = tf.tensor2d(ids, [b, len], 'int32');
        const logits = model.decode(dec, hidden, attentionMask, INFERENCE);
        const last = tf.reshape(tf.slice(logits, [0, len - 1, 0], [b, 1, -1]), [b, -1]);
        return tf.argMax(last, -1);
      });
      const chosen = next.dataSync();
      next.dispose();
      for (let i = 0; i < b; i++) {
        const row = out[i] as number[];
        if (done[i]) {
          row.push(model.config.padTokenId);
          continue;
        }
        const id = chosen[i] as number;
        row.push(id);
        if (id === eos) done[i] = true;
      }
    }
  } finally {
    tf.dispose([hidden, attentionMask]);
  }
  // Trim the padding appended after eos so each row ends at its own eos.
  return out.map((row) => {
    const end = row.indexOf(eos);
    return end === -1 ? row : row.slice(0, end + 1);
  });
}

/**
 * log p(candidate | input) for every (input, candidate) pair: the sum over the candidate's tokens
 * of the teacher-forced log-probabilities. Candidates are target id sequences (normally ending in
 * eos); result[i][c] belongs to inputs[i] and candidates[c]. The encoder runs once per input, and
 * one decoder pass scores every candidate of every input (each input's encoder states serve its
 * candidates' rows, see T5Model.decodeHidden).
 */
export function scoreCandidates(
  model: T5Model,
  inputs: number[][],
  candidates: number[][],
): number[][] {
  if (candidates.length === 0) throw new Error('need at least one candidate sequence');
  if (candidates.some((c) => c.length === 0))
    throw new Error('candidate sequences must not be empty');
  const b = inputs.length;
  const c = candidates.length;
  const { hidden, attentionMask } = encodeBatch(model, inputs);
  try {
    const scores = tf.tidy(() => {
      const lab = padSequences(candidates, model.config.padTokenId);
      const dec = padSequences(
        candidates.map((cand) => shiftRight(cand, model.config.decoderStartTokenId)),
        model.config.padTokenId,
      );
      const t = lab.length;
      // Row i*c + j pairs input i with candidate j.
      const tile = <A extends Int32Array | Float32Array>(x: A, out: A): A => {
        for (let i = 0; i < b; i++) out.set(x, i * c * t);
        return out;
      };
      const decoderIds = tf.tensor2d(tile(dec.ids, new Int32Array(b * c * t)), [b * c, t], 'int32');
      const labels = tf.tensor2d(tile(lab.ids, new Int32Array(b * c * t)), [b * c, t], 'int32');
      const mask = tf.tensor2d(tile(lab.mask, new Float32Array(b * c * t)), [b * c, t], 'float32');
      const logits = model.decode(decoderIds, hidden, attentionMask, INFERENCE);
      return tf.sum(tf.mul(tokenLogProbs(logits, labels), mask), -1);
    });
    const flat = scores.dataSync();
    scores.dispose();
    return Array.from({ length: b }, (_, i) => Array.from(flat.subarray(i * c, (i + 1) * c)));
  } finally {
    tf.dispose([hidden, attentionMask]);
  }
}

/** Softmax over candidate log-probabilities: a distribution over the candidate set per input. */
export function candidateProbabilities(logProbs: number[][]): number[][] {
  return logProbs.map((row) => {
    const max = Math.max(...row);
    const exps = row.map((x) => Math.exp(x - max));
    const total = exps.reduce((a, b) => a + b, 0);
    return exps.map((e) => e / total);
  });
}
