// AdamW (decoupled weight decay, Loshchilov & Hutter) and global-norm gradient clipping.
// tfjs ships Adam but not decoupled decay, which fine-tuning T5 needs, so the update is written out.
import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, writeSafetensors, type NamedTensor } from './safetensors';

/** What T5Trainer needs from an optimiser. */
export interface Optimizer {
  readonly iterations: number;
  /** Applies one update with this step's learning rate; `grads` are not disposed. */
  apply(
    params: Map<string, tf.Variable>,
    grads: Map<string, tf.Tensor>,
    learningRate: number,
  ): void;
  dispose(): void;
}

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
  /** Parameters whose name matches are not decayed; default: layer norms (as HF Trainer does). */
  noDecay?: (name: string) => boolean;
}

/** AdamW's complete state: see AdamW.getState. */
export interface AdamWState {
  readonly step: number;
  readonly moments: ReadonlyMap<
    string,
    { readonly shape: number[]; readonly m: Float32Array; readonly v: Float32Array }
  >;
}

export class AdamW implements Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  private readonly noDecay: (name: string) => boolean;
  private readonly moments = new Map<string, { m: tf.Variable; v: tf.Variable }>();
  private t = 0;

  constructor(options: AdamWOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.0;
    this.noDecay = options.noDecay ?? ((name) => name.includes('layer_norm'));
  }

  get iterations(): number {
    return this.t;
  }

  /** Applies one update; `grads` are not disposed. */
  apply(
    params: Map<string, tf.Variable>,
    grads: Map<string, tf.Tensor>,
    learningRate: number,
  ): void {
    this.t += 1;
    const bc1 = 1 - this.beta1 ** this.t;
    const bc2 = 1 - this.beta2 ** this.t;
    for (const [name, g] of grads) {
      const p = params.get(name);
      if (!p) throw new Error(`gradient for unknown parameter "${name}"`);
      let state = this.moments.get(name);
      if (!state) {
        state = { m: tf.variable(tf.zerosLike(p), false), v: tf.variable(tf.zerosLike(p), false) };
        this.moments.set(name, state);
      }
      const { m, v } = state;
      tf.tidy(() => {
        const mNew = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const vNew = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        m.assign(mNew);
        v.assign(vNew);
        const step = tf.div(tf.div(mNew, bc1), tf.add(tf.sqrt(tf.div(vNew, bc2)), this.epsilon));
        let next = tf.sub(p, tf.mul(step, learningRate));
        if (this.weightDecay > 0 && !this.noDecay(name)) {
          next = tf.sub(next, tf.mul(p, learningRate * this.weightDecay));
        }
        p.assign(next);
      });
    }
  }

  /**
   * Everything the next update depends on besides the parameters: the step count (bias
   * correction) and both moment estimates per parameter, as float32 copies. With the weights
   * and this, a resumed run continues bit-identically.
   */
  async getState(): Promise<AdamWState> {
    const moments = new Map<string, { shape: number[]; m: Float32Array; v: Float32Array }>();
    for (const [name, { m, v }] of this.moments) {
      moments.set(name, {
        shape: [...m.shape],
        m: (await m.data()) as Float32Array,
        v: (await v.data()) as Float32Array,
      });
    }
    return { step: this.t, moments };
  }

  /** Replaces the state (e.g. from a checkpoint); shapes are checked against `params` when given. */
  setState(state: AdamWState, params?: Map<string, tf.Variable>): void {
    for (const [name, { shape }] of state.moments) {
      const p = params?.get(name);
      if (params && !p) throw new Error(`optimizer state for unknown parameter "${name}"`);
      if (p && p.shape.join(',') !== shape.join(','))
        throw new Error(
          `optimizer state for "${name}" has shape [${shape.join(', ')}], the parameter [${p.shape.join(', ')}]`,
        );
    }
    this.dispose();
    for (const [name, { shape, m, v }] of state.moments) {
      this.moments.set(name, {
        m: tf.variable(tf.tensor(m, shape, 'float32'), false),
        v: tf.variable(tf.tensor(v, shape, 'float32'), false),
      });
    }
    this.t = state.step;
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) {
      m.dispose();
      v.dispose();
    }
    this.moments.clear();
  }
}

/** Scales gradients so their global L2 norm is at most maxNorm; returns the new map and the pre-clip norm. */
export function clipByGlobalNorm(
  grads: Map<string, tf.Tensor>,
  maxNorm: number,
): { grads: Map<string, tf.Tensor>; norm: number } {
  const normTensor = tf.tidy(() =>
    tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))),
  );
  const norm = normTensor.dataSync()[0] as number;
  normTensor.dispose();
  if (!(maxNorm > 0) || norm <= maxNorm || !Number.isFinite(norm)) return { grads, norm };
  const scale = maxNorm / (norm + 1e-6);
  const clipped = new Map<string, tf.Tensor>();
  for (const [name, g] of grads) clipped.set(name, tf.mul(g, scale));
  return { grads: clipped, norm };
}

/** AdamW state as safetensors bytes: tensors `m.<param>` and `v.<param>`, the step in metadata. */
export function serializeAdamWState(state: AdamWState): Uint8Array {
  const tensors: NamedTensor[] = [];
  for (const [name, { shape, m, v }] of state.moments) {
    tensors.push({ name: `m.${name}`, shape, data: m }, { name: `v.${name}`, shape, data: v });
  }
  return writeSafetensors(tensors, { format: 'adamw', step: String(state.step) });
}

export function deserializeAdamWState(bytes: Uint8Array, source: string): AdamWState {
  const file = readSafetensors(bytes, source);
  const step = Number(file.metadata['step']);
  if (file.metadata['format'] !== 'adamw' || !Number.isInteger(step) || step < 0)
    throw new Error(
      `${source} is not an AdamW state file (metadata ${JSON.stringify(file.metadata)})`,
    );
  const moments = new Map<string, { shape: number[]; m: Float32Array; v: Float32Array }>();
  for (const [key, t] of file.tensors) {
    if (!key.startsWith('m.')) continue;
    const name = key.slice(2);
    const v = file.tensors.get(`v.${name}`);
    if (!v) throw new Error(`${source}: "${key}" has no matching "v.${name}"`);
    moments.set(name, { shape: t.shape, m: t.data, v: v.data });
  }
  return { step, moments };
}
