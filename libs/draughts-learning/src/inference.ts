/**
 * A dedicated inference graph for the transformer scorer: the same function as `forward`
 * (transformer.ts, which training differentiates), rearranged for search-time batches on the
 * tfjs wasm backend. Per-kernel profiles of `forward` on wasm at batch 256 (tf.profile; see
 * docs/benchmarks/checkers-learning.md) showed tf.gather of the embeddings (~12 ms), tf.split of
 * the fused QKV output (~14 ms per layer), the per-head transposes and, above all, the attention
 * batched matMuls (~40 ms per layer; wasm's BatchMatMul with a batch dimension is a scalar loop,
 * while 2-D matMuls go to XNNPACK and cost 1–5 ms). So:
 *
 *   - the three embeddings are pre-summed into one table over (side, square, token) — 320 rows —
 *     and, since layer 0's LayerNorm and Q/K/V projection act on each square's row alone, layer 0's
 *     Q/K/V are a second table over the same 320 keys: both are looked up in JS while the input is
 *     encoded, so no gather, LayerNorm or QKV matMul runs for layer 0;
 *   - LayerNorm gains and biases are folded into the following matMul's weights and bias, the
 *     1/√d_head attention scale into W_q, and biases and ReLU into tf.fused.matMul;
 *   - Q/K/V of later layers come from one 2-D matMul, read once and laid out head-major
 *     ([batch · heads, 32, d_head]) in JS, so attention needs no split, slices or input transposes:
 *     one batched matMul for the scores of all heads, one softmax, one batched matMul for the
 *     values, one transpose back;
 *   - every dense projection (attention output, FFN, QKV, head) is one 2-D matMul over all
 *     batch × 32 rows.
 *
 * Tried and dropped (measured slower on wasm): all heads in one batched matMul through a
 * block-diagonal mask (4× the multiply-adds in the scalar loop: ~1.6× slower), scores as a
 * broadcast multiply + sum, and attention in plain JS loops (~3× slower than the batched matMuls).
 *
 * test/inference.spec.ts holds it to `forward` within 1e-5 on random positions and weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createWasmAttention } from './attention-wasm';
import { PIECE_TOKENS, SQUARES } from './encoding';
import type { Params, TransformerConfig } from './transformer';

const LN_EPS = 1e-5;
const SIDES = 2;
/** Rows of the pre-summed tables: key = side * 160 + square * 5 + token. */
const TABLE_ROWS = SIDES * SQUARES * PIECE_TOKENS;

interface DenseLayer {
  /** [d, d] attention output projection. */
  readonly out: tf.Tensor2D;
  /** [d, ffn] with the ln2 gain folded in; bias = ln2.bias · W1 + b1. */
  readonly ff1: tf.Tensor2D;
  readonly ff1Bias: tf.Tensor1D;
  readonly ff2: tf.Tensor2D;
  readonly ff2Bias: tf.Tensor1D;
  /** QKV projection of the *next* layer with its ln1 folded in (absent after the last layer). */
  readonly nextQkv?: tf.Tensor2D;
  readonly nextQkvBias?: tf.Tensor1D;
}

export interface InferenceGraphOptions {
  /**
   * How attention runs: 'wasm' — one WebAssembly SIMD call per layer (attention-wasm.ts; heads of
   * width 4 only), 'tfjs' — batched tfjs matMuls and Softmax. Default: 'wasm' when it can run
   * (head width 4, WebAssembly SIMD available), else 'tfjs'.
   */
  readonly attention?: 'wasm' | 'tfjs';
}

export interface InferenceGraph {
  readonly config: TransformerConfig;
  /** The attention path in use. */
  readonly attention: 'wasm' | 'tfjs';
  /** Logits [n, 3] (win, draw, loss) for n encoded positions; one read of the result. */
  logits(tokens: Int32Array, side: Int32Array, n: number): Float32Array;
  /** Frees the graph's own tensors (the model's parameters are not touched). */
  dispose(): void;
}

function values(params: Params, name: string): Float32Array {
  const v = params.get(name);
  if (!v)
    throw new Error(`model parameter ${name} is missing: the weights do not match the config`);
  return v.dataSync() as Float32Array;
}

/** W' = diag(gain) · W and b' = bias · W (+ extra), with columns [0, scaleCols) scaled by `scale`. */
function foldAffine(
  gain: Float32Array,
  bias: Float32Array,
  w: Float32Array,
  cols: number,
  extra: Float32Array | null,
  scaleCols = 0,
  scale = 1,
): { w: Float32Array; b: Float32Array } {
  const rows = gain.length;
  const fw = new Float32Array(rows * cols);
  const fb = new Float32Array(cols);
  for (let c = 0; c < cols; c++) {
    const s = c < scaleCols ? scale : 1;
    let acc = extra ? (extra[c] as number) : 0;
    for (let r = 0; r < rows; r++) {
      const x = w[r * cols + c] as number;
      fw[r * cols + c] = (gain[r] as number) * x * s;
      acc += (bias[r] as number) * x;
    }
    fb[c] = acc * s;
  }
  return { w: fw, b: fb };
}

/** Builds the inference graph from trained parameters (read once; later parameter updates are not seen). */
export function buildInferenceGraph(
  params: Params,
  config: TransformerConfig,
  options: InferenceGraphOptions = {},
): InferenceGraph {
  const d = config.dModel;
  const heads = config.heads;
  const dh = d / heads;
  const ffn = config.ffn;
  const layers = config.layers;
  if (!Number.isInteger(dh)) throw new Error(`dModel ${d} must be divisible by heads ${heads}`);
  if (layers < 1) throw new Error('the inference graph needs at least one layer');
  const scale = 1 / Math.sqrt(dh);
  const w3 = 3 * d;
  const wasm = options.attention !== 'tfjs' && dh === 4 ? createWasmAttention(d) : null;
  if (options.attention === 'wasm' && !wasm)
    throw new Error(
      `wasm attention needs heads of width 4 and WebAssembly SIMD (head width here ${dh})`,
    );

  // Input table: piece + square + side embeddings for every key.
  const piece = values(params, 'piece_embedding');
  const square = values(params, 'square_embedding');
  const sideEmb = values(params, 'side_embedding');
  const input = new Float32Array(TABLE_ROWS * d);
  for (let side = 0; side < SIDES; side++)
    for (let s = 0; s < SQUARES; s++)
      for (let t = 0; t < PIECE_TOKENS; t++) {
        const row = (side * SQUARES + s) * PIECE_TOKENS + t;
        for (let c = 0; c < d; c++)
          input[row * d + c] =
            (piece[t * d + c] as number) +
            (square[s * d + c] as number) +
            (sideEmb[side * d + c] as number);
      }

  // Layer 0's Q/K/V per key: LayerNorm of the input row, then the folded projection.
  const qkvOf = (l: number) =>
    foldAffine(
      values(params, `l${l}.ln1.gain`),
      values(params, `l${l}.ln1.bias`),
      values(params, `l${l}.qkv`),
      w3,
      null,
      d,
      scale,
    );
  const first = qkvOf(0);
  const qkv0 = new Float32Array(TABLE_ROWS * w3);
  const norm = new Float64Array(d);
  for (let row = 0; row < TABLE_ROWS; row++) {
    let mean = 0;
    for (let c = 0; c < d; c++) mean += input[row * d + c] as number;
    mean /= d;
    let variance = 0;
    for (let c = 0; c < d; c++) variance += ((input[row * d + c] as number) - mean) ** 2;
    const inv = 1 / Math.sqrt(variance / d + LN_EPS);
    for (let c = 0; c < d; c++) norm[c] = ((input[row * d + c] as number) - mean) * inv;
    for (let o = 0; o < w3; o++) {
      let acc = first.b[o] as number;
      for (let c = 0; c < d; c++) acc += (norm[c] as number) * (first.w[c * w3 + o] as number);
      qkv0[row * w3 + o] = acc;
    }
  }

  const dense: DenseLayer[] = [];
  for (let l = 0; l < layers; l++) {
    const ff = foldAffine(
      values(params, `l${l}.ln2.gain`),
      values(params, `l${l}.ln2.bias`),
      values(params, `l${l}.ff1`),
      ffn,
      values(params, `l${l}.ff1.bias`),
    );
    const next = l + 1 < layers ? qkvOf(l + 1) : null;
    dense.push({
      out: tf.tensor2d(values(params, `l${l}.out`), [d, d]),
      ff1: tf.tensor2d(ff.w, [d, ffn]),
      ff1Bias: tf.tensor1d(ff.b),
      ff2: tf.tensor2d(values(params, `l${l}.ff2`), [ffn, d]),
      ff2Bias: tf.tensor1d(values(params, `l${l}.ff2.bias`)),
      nextQkv: next ? tf.tensor2d(next.w, [d, w3]) : undefined,
      nextQkvBias: next ? tf.tensor1d(next.b) : undefined,
    });
  }
  const headFold = foldAffine(
    values(params, 'final_ln.gain'),
    values(params, 'final_ln.bias'),
    values(params, 'head'),
    3,
    values(params, 'head.bias'),
  );
  const head = tf.tensor2d(headFold.w, [d, 3]);
  const headBias = tf.tensor1d(headFold.b);

  const normalize = (x: tf.Tensor): tf.Tensor => {
    const centred = tf.sub(x, tf.mean(x, -1, true));
    return tf.mul(centred, tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), LN_EPS)));
  };

  // Imported bindings compile to getters under CommonJS; the hot loops use plain locals.
  const sq = SQUARES;
  const tokensPerKey = PIECE_TOKENS;
  // Scratch, grown to the largest batch seen: Q/K/V rows [n * 32, 3d] and their head-major copies.
  let qkvRows: Float32Array = new Float32Array(0);
  // Head-major Q/K/V for tfjs attention: Q and V [n * heads, 32, dh], K transposed
  // [n * heads, dh, 32], so both attention products are plain (no transpose operand: a
  // transposed operand costs a Transpose kernel inside wasm's BatchMatMul).
  let hmQ = new Float32Array(0);
  let hmK = new Float32Array(0);
  let hmV = new Float32Array(0);
  // Input rows [n * 32, d], reused between calls.
  let x0 = new Float32Array(0);
  const headMajor = (qkv: Float32Array, n: number): void => {
    if (hmQ.length < n * sq * d) {
      hmQ = new Float32Array(n * sq * d);
      hmK = new Float32Array(n * sq * d);
      hmV = new Float32Array(n * sq * d);
    }
    for (let b = 0; b < n; b++)
      for (let j = 0; j < sq; j++) {
        const r = (b * sq + j) * w3;
        for (let h = 0; h < heads; h++) {
          const base = (b * heads + h) * sq * dh;
          const t = base + j * dh;
          const e = r + h * dh;
          for (let c = 0; c < dh; c++) {
            hmQ[t + c] = qkv[e + c] as number;
            hmK[base + c * sq + j] = qkv[e + d + c] as number;
            hmV[t + c] = qkv[e + 2 * d + c] as number;
          }
        }
      }
  };
  const attend = (n: number): tf.Tensor => {
    if (wasm) {
      wasm.attend(n);
      return tf.tensor2d(wasm.out.subarray(0, n * sq * d), [n * sq, d]);
    }
    headMajor(qkvRows, n);
    const size = n * sq * d;
    return tf.tidy(() => {
      const q = tf.tensor3d(hmQ.subarray(0, size), [n * heads, sq, dh]);
      const kT = tf.tensor3d(hmK.subarray(0, size), [n * heads, dh, sq]);
      const v = tf.tensor3d(hmV.subarray(0, size), [n * heads, sq, dh]);
      const att = tf.softmax(tf.matMul(q, kT));
      const o = tf.reshape(tf.matMul(att, v), [n, heads, sq, dh]);
      return tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [n * sq, d]);
    });
  };
  const logits = (tokens: Int32Array, side: Int32Array, n: number): Float32Array => {
    if (n === 0) return new Float32Array(0);
    if (tokens.length < n * sq || side.length < n)
      throw new Error(`logits: need ${n * sq} tokens and ${n} sides for ${n} positions`);
    const rows = n * sq;
    if (wasm) {
      wasm.reserve(n);
      qkvRows = wasm.qkv;
    } else if (qkvRows.length < rows * w3) qkvRows = new Float32Array(rows * w3);
    if (x0.length < rows * d) x0 = new Float32Array(rows * d);
    for (let b = 0; b < n; b++) {
      const sideBase = (side[b] as number) * sq * tokensPerKey;
      for (let s = 0; s < sq; s++) {
        const r = b * sq + s;
        const key = sideBase + s * tokensPerKey + (tokens[r] as number);
        for (let c = 0; c < d; c++) x0[r * d + c] = input[key * d + c] as number;
        for (let c = 0; c < w3; c++) qkvRows[r * w3 + c] = qkv0[key * w3 + c] as number;
      }
    }
    let x: tf.Tensor = tf.tensor2d(x0.subarray(0, rows * d), [rows, d]);
    for (let l = 0; l < layers; l++) {
      const o = attend(n);
      const layer = dense[l] as DenseLayer;
      const prev = x;
      const { nextX, nextQkv } = tf.tidy((): { nextX: tf.Tensor; nextQkv?: tf.Tensor } => {
        const afterAttention = tf.add(prev, tf.matMul(o as tf.Tensor2D, layer.out));
        const hidden = tf.fused.matMul({
          a: normalize(afterAttention) as tf.Tensor2D,
          b: layer.ff1,
          bias: layer.ff1Bias,
          activation: 'relu',
        });
        const y = tf.add(
          afterAttention,
          tf.fused.matMul({ a: hidden, b: layer.ff2, bias: layer.ff2Bias }),
        );
        if (!layer.nextQkv) return { nextX: y };
        const qkv = tf.fused.matMul({
          a: normalize(y) as tf.Tensor2D,
          b: layer.nextQkv,
          bias: layer.nextQkvBias,
        });
        return { nextX: y, nextQkv: qkv };
      });
      o.dispose();
      prev.dispose();
      x = nextX;
      if (nextQkv) {
        qkvRows.set(nextQkv.dataSync() as Float32Array);
        nextQkv.dispose();
      }
    }
    const out = tf.tidy(() => {
      const pooled = tf.mean(tf.reshape(x, [n, sq, d]), 1);
      return tf.fused.matMul({ a: normalize(pooled) as tf.Tensor2D, b: head, bias: headBias });
    });
    x.dispose();
    const result = out.dataSync() as Float32Array;
    out.dispose();
    return result;
  };

  const owned: tf.Tensor[] = [head, headBias];
  for (const layer of dense) {
    owned.push(layer.out, layer.ff1, layer.ff1Bias, layer.ff2, layer.ff2Bias);
    if (layer.nextQkv) owned.push(layer.nextQkv);
    if (layer.nextQkvBias) owned.push(layer.nextQkvBias);
  }
  return {
    config,
    attention: wasm ? 'wasm' : 'tfjs',
    logits,
    dispose: () => owned.forEach((t) => t.dispose()),
  };
}
