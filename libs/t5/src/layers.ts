// The stateless building blocks of a T5 block. Linear weights keep PyTorch's [out, in] layout so
// checkpoints load without transposing; the matmul takes the transpose instead.
import * as tf from '@tensorflow/tfjs-core';
import type { FeedForwardActivation } from './config';

export interface DropoutContext {
  training: boolean;
  rate: number;
  /** Next seed for a dropout mask; drawing from a seeded stream makes training reproducible. */
  nextSeed: () => number;
}

export function dropout<T extends tf.Tensor>(x: T, ctx: DropoutContext): T {
  if (!ctx.training || ctx.rate === 0) return x;
  return tf.dropout(x, ctx.rate, undefined, ctx.nextSeed()) as T;
}

/** T5's LayerNorm: scale only, no bias and no mean subtraction (RMS norm). */
export function rmsNorm(x: tf.Tensor3D, weight: tf.Tensor, epsilon: number): tf.Tensor3D {
  const variance = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(variance, epsilon))), weight);
}

/**
 * A linear layer's weight already transposed to [in, out], kept by inference so that the matrix
 * product runs on the backend's plain path (on wasm: XNNPACK with its packed weights cached)
 * instead of transposing the weight on every call.
 */
export class TransposedWeight {
  constructor(readonly inOut: tf.Tensor2D) {}
}

/** A linear layer's weight: PyTorch's [out, in], or the same values as [in, out]. */
export type LinearWeight = tf.Tensor | TransposedWeight;

/** x [B, T, in] times weight [out, in]^T. */
export function linear(x: tf.Tensor3D, weight: LinearWeight): tf.Tensor3D {
  const [b, t, d] = x.shape;
  const flat = tf.reshape(x, [b * t, d]);
  if (weight instanceof TransposedWeight) {
    return tf.reshape(tf.matMul(flat, weight.inOut), [b, t, weight.inOut.shape[1]]);
  }
  const out = weight.shape[0] as number;
  return tf.reshape(tf.matMul(flat, weight as tf.Tensor2D, false, true), [b, t, out]);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export function activate(x: tf.Tensor3D, activation: FeedForwardActivation): tf.Tensor3D {
  switch (activation) {
    case 'relu':
      return tf.relu(x);
    case 'gelu':
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
    case 'gelu_new': {
      // HF NewGELUActivation: the tanh approximation used by T5 v1.1 ("gated-gelu").
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI);
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
    }
  }
}

/** [B, T, H*dKv] -> [B, H, T, dKv] */
export function splitHeads(x: tf.Tensor3D, numHeads: number): tf.Tensor4D {
  const [b, t, inner] = x.shape;
  return tf.transpose(tf.reshape(x, [b, t, numHeads, inner / numHeads]), [0, 2, 1, 3]);
}

/** [B, H, T, dKv] -> [B, T, H*dKv] */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [b, h, t, d] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, t, h * d]);
}

export interface AttentionWeights {
  q: LinearWeight;
  k: LinearWeight;
  v: LinearWeight;
  o: LinearWeight;
}

/**
 * Multi-head attention as in HF T5Attention. Logits are NOT divided by sqrt(dKv): T5 folds that
 * scale into the q initialisation. `bias` carries position bias and the additive masks.
 */
export function attention(
  hidden: tf.Tensor3D,
  keyValue: tf.Tensor3D,
  weights: AttentionWeights,
  bias: tf.Tensor,
  numHeads: number,
  drop: DropoutContext,
): tf.Tensor3D {
  const q = splitHeads(linear(hidden, weights.q), numHeads);
  const k = splitHeads(linear(keyValue, weights.k), numHeads);
  const v = splitHeads(linear(keyValue, weights.v), numHeads);
  const scores = tf.add(tf.matMul(q, k, false, true), bias);
  const probs = dropout(tf.softmax(scores, -1), drop);
  return linear(mergeHeads(tf.matMul(probs, v) as tf.Tensor4D), weights.o);
}

/** A large negative number for masked logits; finite so fully-masked rows stay NaN-free. */
export const MASK_VALUE = -1e9;

/** [B, S] 1/0 mask -> additive [B, 1, 1, S] bias. */
export function paddingBias(mask: tf.Tensor2D): tf.Tensor4D {
  const [b, s] = mask.shape;
  return tf.reshape(tf.mul(tf.sub(1, tf.cast(mask, 'float32')), MASK_VALUE), [b, 1, 1, s]);
}

/** Additive [1, 1, T, T] bias that hides keys after the query (causal self-attention). */
export function causalBias(length: number): tf.Tensor4D {
  const values = new Float32Array(length * length);
  for (let q = 0; q < length; q++)
    for (let k = q + 1; k < length; k++) values[q * length + k] = MASK_VALUE;
  return tf.tensor4d(values, [1, 1, length, length]);
}
