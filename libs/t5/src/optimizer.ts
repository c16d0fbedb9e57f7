// AdamW (decoupled weight decay, Loshchilov & Hutter) and global-norm gradient clipping.
// tfjs ships Adam but not decoupled decay, which fine-tuning T5 needs, so the update is written out.
import * as tf from '@tensorflow/tfjs-core';

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
