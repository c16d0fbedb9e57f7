// Fresh models initialised exactly as HF T5PreTrainedModel._init_weights does, from a seed.
import * as tf from '@tensorflow/tfjs-core';
import { defineT5Config, type T5Config } from './config';
import { T5Model } from './model';
import { t5ParameterSpecs } from './parameters';
import { createRng } from './random';

export interface CreateT5Options {
  /** Same seed and config give bit-identical weights on every backend. */
  seed: number;
}

export function createT5(config: Partial<T5Config> | T5Config, options: CreateT5Options): T5Model {
  const full = defineT5Config(config);
  const rng = createRng(options.seed);
  const params = new Map<string, tf.Variable>();
  for (const spec of t5ParameterSpecs(full)) {
    const value = tf.tidy(() =>
      spec.initStd === 0
        ? tf.fill(spec.shape, full.initializerFactor)
        : tf.randomNormal(spec.shape, 0, spec.initStd, 'float32', rng.seed()),
    );
    params.set(spec.name, tf.variable(value, true));
    value.dispose();
  }
  return new T5Model(full, params);
}
