// Adafactor (Shazeer & Stern 2018), following transformers' `Adafactor.step`: second moments
// of matrices are kept as row and column means (memory O(n + m) instead of O(nm)), updates are
// clipped by their RMS, and the step size can be scaled by the parameter's RMS. The learning
// rate comes from the trainer's schedule (HF's relative_step=False), which is how T5 is usually
// fine-tuned with it (lr 1e-3, scale_parameter=False).
import * as tf from '@tensorflow/tfjs-core';
import type { Optimizer } from './optimizer';

export interface AdafactorOptions {
  /** First-moment decay; undefined (default) keeps no first moment, as in T5 pre-training. */
  beta1?: number;
  /** Added to squared gradients. Default 1e-30. */
  eps1?: number;
  /** Lower bound of the parameter scale. Default 1e-3. */
  eps2?: number;
  /** Updates are scaled down to this RMS. Default 1.0. */
  clipThreshold?: number;
  /** Second-moment decay is 1 - step^decayRate. Default -0.8. */
  decayRate?: number;
  weightDecay?: number;
  /** Multiply the step by max(eps2, RMS(param)). Default false. */
  scaleParameter?: boolean;
}

interface SlotState {
  row?: tf.Variable;
  col?: tf.Variable;
  full?: tf.Variable;
  momentum?: tf.Variable;
}

const rms = (x: tf.Tensor) => tf.sqrt(tf.mean(tf.square(x)));

export class Adafactor implements Optimizer {
  private readonly opts: Required<Omit<AdafactorOptions, 'beta1'>> & { beta1?: number };
  private readonly state = new Map<string, SlotState>();
  private t = 0;

  constructor(options: AdafactorOptions = {}) {
    this.opts = {
      beta1: options.beta1,
      eps1: options.eps1 ?? 1e-30,
      eps2: options.eps2 ?? 1e-3,
      clipThreshold: options.clipThreshold ?? 1.0,
      decayRate: options.decayRate ?? -0.8,
      weightDecay: options.weightDecay ?? 0,
      scaleParameter: options.scaleParameter ?? false,
    };
  }

  get iterations(): number {
    return this.t;
  }

  apply(
    params: Map<string, tf.Variable>,
    grads: Map<string, tf.Tensor>,
    learningRate: number,
  ): void {
    this.t += 1;
    const o = this.opts;
    const beta2t = 1 - this.t ** o.decayRate;
    for (const [name, g] of grads) {
      const p = params.get(name);
      if (!p) throw new Error(`gradient for unknown parameter "${name}"`);
      const factored = p.rank >= 2;
      let s = this.state.get(name);
      if (!s) {
        s = {};
        if (factored) {
          s.row = tf.variable(tf.zeros(p.shape.slice(0, -1)), false);
          s.col = tf.variable(
            tf.zeros([...p.shape.slice(0, -2), p.shape[p.rank - 1] as number]),
            false,
          );
        } else {
          s.full = tf.variable(tf.zerosLike(p), false);
        }
        if (o.beta1 !== undefined) s.momentum = tf.variable(tf.zerosLike(p), false);
        this.state.set(name, s);
      }
      const state = s;
      tf.tidy(() => {
        const sq = tf.add(tf.square(g), o.eps1);
        let update: tf.Tensor;
        if (state.row && state.col) {
          const row = tf.add(tf.mul(state.row, beta2t), tf.mul(tf.mean(sq, -1), 1 - beta2t));
          const col = tf.add(tf.mul(state.col, beta2t), tf.mul(tf.mean(sq, -2), 1 - beta2t));
          state.row.assign(row);
          state.col.assign(col);
          const rFactor = tf.expandDims(tf.rsqrt(tf.div(row, tf.mean(row, -1, true))), -1);
          const cFactor = tf.expandDims(tf.rsqrt(col), -2);
          update = tf.mul(tf.mul(rFactor, cFactor), g);
        } else {
          const full = state.full as tf.Variable;
          const v = tf.add(tf.mul(full, beta2t), tf.mul(sq, 1 - beta2t));
          full.assign(v);
          update = tf.mul(tf.rsqrt(v), g);
        }
        update = tf.div(update, tf.maximum(tf.div(rms(update), o.clipThreshold), 1));
        const scale = o.scaleParameter ? tf.maximum(rms(p), o.eps2) : tf.scalar(1);
        const lr = tf.mul(scale, learningRate);
        update = tf.mul(update, lr);
        if (state.momentum) {
          const m = tf.add(
            tf.mul(state.momentum, o.beta1 as number),
            tf.mul(update, 1 - (o.beta1 as number)),
          );
          state.momentum.assign(m);
          update = m;
        }
        let next = p as tf.Tensor;
        if (o.weightDecay !== 0) next = tf.sub(next, tf.mul(tf.mul(p, lr), o.weightDecay));
        p.assign(tf.sub(next, update));
      });
    }
  }

  dispose(): void {
    for (const s of this.state.values())
      tf.dispose([s.row, s.col, s.full, s.momentum].filter((v): v is tf.Variable => !!v));
    this.state.clear();
  }
}
