/**
 * A two-layer pre-norm transformer encoder over the 32 squares, written with tfjs-core ops.
 * Why not tfjs-layers: it is not a dependency here, and the search needs exactly one forward
 * per batch with typed-array input and output — a few dozen ops we can own, test and save in
 * the standard tfjs weights format without a Layers model around them.
 *
 * Output: three logits (win, draw, loss for the side to move), each trained as an independent
 * sigmoid because the ramp targets do not sum to one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PIECE_TOKENS, SQUARES } from './encoding';

export interface TransformerConfig {
  readonly dModel: number;
  readonly heads: number;
  readonly ffn: number;
  readonly layers: number;
}

export const DEFAULT_CONFIG: TransformerConfig = { dModel: 32, heads: 4, ffn: 64, layers: 2 };

export type Params = Map<string, tf.Variable>;

/** Parameter names and shapes, in a fixed order (the order of the saved weights). */
export function paramShapes(c: TransformerConfig): [string, number[]][] {
  if (c.dModel % c.heads !== 0)
    throw new Error(`dModel ${c.dModel} must be divisible by heads ${c.heads}`);
  const d = c.dModel;
  const shapes: [string, number[]][] = [
    ['piece_embedding', [PIECE_TOKENS, d]],
    ['square_embedding', [SQUARES, d]],
    ['side_embedding', [2, d]],
  ];
  for (let l = 0; l < c.layers; l++) {
    shapes.push(
      [`l${l}.ln1.gain`, [d]],
      [`l${l}.ln1.bias`, [d]],
      [`l${l}.qkv`, [d, 3 * d]],
      [`l${l}.out`, [d, d]],
      [`l${l}.ln2.gain`, [d]],
      [`l${l}.ln2.bias`, [d]],
      [`l${l}.ff1`, [d, c.ffn]],
      [`l${l}.ff1.bias`, [c.ffn]],
      [`l${l}.ff2`, [c.ffn, d]],
      [`l${l}.ff2.bias`, [d]],
    );
  }
  shapes.push(['final_ln.gain', [d]], ['final_ln.bias', [d]], ['head', [d, 3]], ['head.bias', [3]]);
  return shapes;
}

/** Fresh parameters: N(0, 0.02) embeddings, scaled-normal matrices, unit gains, zero biases. */
export function initParams(c: TransformerConfig, seed: number): Params {
  const params: Params = new Map();
  let k = 0;
  for (const [name, shape] of paramShapes(c)) {
    let init: tf.Tensor;
    if (name.endsWith('.gain')) init = tf.ones(shape);
    else if (name.endsWith('bias')) init = tf.zeros(shape);
    else {
      const fanIn = shape.length === 2 && !name.endsWith('embedding') ? (shape[0] as number) : 50;
      init = tf.randomNormal(shape, 0, 1 / Math.sqrt(fanIn), 'float32', seed + k++);
    }
    params.set(name, tf.variable(init, true));
    init.dispose();
  }
  return params;
}

function p(params: Params, name: string): tf.Variable {
  const v = params.get(name);
  if (!v)
    throw new Error(`model parameter ${name} is missing: the weights do not match the config`);
  return v;
}

function layerNorm(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gain), bias);
}

/** Logits [B, 3] for token ids [B, 32] and side ids [B]. Call inside tf.tidy. */
export function forward(
  params: Params,
  c: TransformerConfig,
  tokens: tf.Tensor2D,
  side: tf.Tensor1D,
): tf.Tensor2D {
  const b = tokens.shape[0];
  const d = c.dModel;
  const dh = d / c.heads;
  let x: tf.Tensor = tf.add(
    tf.gather(p(params, 'piece_embedding'), tokens),
    p(params, 'square_embedding'),
  );
  x = tf.add(x, tf.expandDims(tf.gather(p(params, 'side_embedding'), side), 1));
  const heads = (t: tf.Tensor): tf.Tensor =>
    tf.transpose(tf.reshape(t, [b, SQUARES, c.heads, dh]), [0, 2, 1, 3]);
  for (let l = 0; l < c.layers; l++) {
    const h = layerNorm(x, p(params, `l${l}.ln1.gain`), p(params, `l${l}.ln1.bias`));
    const qkv = tf.matMul(tf.reshape(h, [b * SQUARES, d]), p(params, `l${l}.qkv`));
    const [q, k, v] = tf.split(qkv, 3, 1) as [tf.Tensor, tf.Tensor, tf.Tensor];
    const att = tf.softmax(tf.div(tf.matMul(heads(q), heads(k), false, true), Math.sqrt(dh)));
    const o = tf.reshape(tf.transpose(tf.matMul(att, heads(v)), [0, 2, 1, 3]), [b * SQUARES, d]);
    x = tf.add(x, tf.reshape(tf.matMul(o, p(params, `l${l}.out`)), [b, SQUARES, d]));
    const h2 = tf.reshape(layerNorm(x, p(params, `l${l}.ln2.gain`), p(params, `l${l}.ln2.bias`)), [
      b * SQUARES,
      d,
    ]);
    const ff = tf.add(
      tf.matMul(
        tf.relu(tf.add(tf.matMul(h2, p(params, `l${l}.ff1`)), p(params, `l${l}.ff1.bias`))),
        p(params, `l${l}.ff2`),
      ),
      p(params, `l${l}.ff2.bias`),
    );
    x = tf.add(x, tf.reshape(ff, [b, SQUARES, d]));
  }
  const pooled = layerNorm(tf.mean(x, 1), p(params, 'final_ln.gain'), p(params, 'final_ln.bias'));
  return tf.add(tf.matMul(pooled, p(params, 'head')), p(params, 'head.bias')) as tf.Tensor2D;
}
