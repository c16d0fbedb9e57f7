/**
 * Training loop for the transformer scorer: Adam on sigmoid cross-entropy against the ramp
 * targets, whole games held out for validation (positions of one game are highly correlated,
 * so a position-level split would flatter the validation loss).
 */
import * as tf from '@tensorflow/tfjs-core';
import { SQUARES } from './encoding';
import { buildInferenceGraph } from './inference';
import type { TrainingSet } from './targets';
import {
  forward,
  initParams,
  paramShapes,
  type Params,
  type TransformerConfig,
} from './transformer';

export interface TrainOptions {
  readonly config: TransformerConfig;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Share of games held out (default 0.1). */
  readonly validationShare?: number;
  readonly seed: number;
  /**
   * Start from these weights instead of a fresh initialisation (continued training; must match
   * `config`). They are copied: the given variables are not changed.
   */
  readonly initialParams?: Params;
  /** Stop after this many optimiser steps (e.g. a wall-clock budget turned into steps). */
  readonly maxSteps?: number;
  /** Called about every `reportEvery` steps and at the end of each epoch. */
  readonly onProgress?: (p: TrainProgress) => void;
  readonly reportEvery?: number;
  /** Validation loss on up to 4,096 held-out positions every this many steps (default 50), for the curve. */
  readonly validateEvery?: number;
}

export interface TrainProgress {
  readonly step: number;
  readonly totalSteps: number;
  readonly epoch: number;
  readonly trainLoss: number;
  /** Present at evaluation points. */
  readonly validationLoss?: number;
}

export interface TrainResult {
  readonly params: Params;
  readonly curve: { step: number; trainLoss: number; validationLoss: number }[];
  readonly trainPositions: number;
  readonly validationPositions: number;
}

function mulberry(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function take(
  set: TrainingSet,
  idx: ArrayLike<number>,
): { tokens: tf.Tensor2D; side: tf.Tensor1D; targets: tf.Tensor2D } {
  const n = idx.length;
  const tokens = new Int32Array(n * SQUARES);
  const side = new Int32Array(n);
  const targets = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const j = idx[i] as number;
    tokens.set(set.tokens.subarray(j * SQUARES, (j + 1) * SQUARES), i * SQUARES);
    side[i] = set.side[j] as number;
    targets.set(set.targets.subarray(j * 3, j * 3 + 3), i * 3);
  }
  return {
    tokens: tf.tensor2d(tokens, [n, SQUARES], 'int32'),
    side: tf.tensor1d(side, 'int32'),
    targets: tf.tensor2d(targets, [n, 3]),
  };
}

function lossOf(params: Params, config: TransformerConfig, b: ReturnType<typeof take>): tf.Scalar {
  const logits = forward(params, config, b.tokens, b.side);
  return tf.losses.sigmoidCrossEntropy(b.targets, logits) as tf.Scalar;
}

/**
 * Mean sigmoid cross-entropy over `idx` (the value tf.losses.sigmoidCrossEntropy gives), in
 * batches. Evaluation needs no gradients, so it runs through the inference graph (a snapshot of
 * the current weights), ~2× cheaper per position on wasm than the training forward.
 */
export function evaluateLoss(
  params: Params,
  config: TransformerConfig,
  set: TrainingSet,
  idx: readonly number[],
  batchSize = 1024,
): number {
  if (idx.length === 0) return NaN;
  const graph = buildInferenceGraph(params, config);
  const sq = SQUARES;
  const tokens = new Int32Array(batchSize * sq);
  const side = new Int32Array(batchSize);
  let sum = 0;
  try {
    for (let i = 0; i < idx.length; i += batchSize) {
      const n = Math.min(batchSize, idx.length - i);
      for (let r = 0; r < n; r++) {
        const j = idx[i + r] as number;
        tokens.set(set.tokens.subarray(j * sq, (j + 1) * sq), r * sq);
        side[r] = set.side[j] as number;
      }
      const logits = graph.logits(tokens, side, n);
      for (let r = 0; r < n; r++) {
        const j = idx[i + r] as number;
        for (let o = 0; o < 3; o++) {
          const x = logits[r * 3 + o] as number;
          const z = set.targets[j * 3 + o] as number;
          // max(x, 0) − x·z + log(1 + e^−|x|): the stable form tfjs uses.
          sum += Math.max(x, 0) - x * z + Math.log1p(Math.exp(-Math.abs(x)));
        }
      }
    }
  } finally {
    graph.dispose();
  }
  return sum / (idx.length * 3);
}

export function splitByGame(
  set: TrainingSet,
  validationShare: number,
  seed: number,
): { train: number[]; validation: number[] } {
  const rng = mulberry(seed ^ 0x5bd1e995);
  const held = new Map<number, boolean>();
  const train: number[] = [];
  const validation: number[] = [];
  for (let i = 0; i < set.count; i++) {
    const g = set.gameIds[i] as number;
    let v = held.get(g);
    if (v === undefined) held.set(g, (v = rng() < validationShare));
    (v ? validation : train).push(i);
  }
  return { train, validation };
}

function copyParams(from: Params, config: TransformerConfig): Params {
  const params: Params = new Map();
  for (const [name, shape] of paramShapes(config)) {
    const v = from.get(name);
    if (!v) throw new Error(`initial weights lack ${name}: they are not of this config`);
    if (v.shape.join() !== shape.join())
      throw new Error(
        `initial weight ${name} has shape [${v.shape}] but the config needs [${shape}]`,
      );
    params.set(name, tf.variable(v, true));
  }
  return params;
}

export function train(set: TrainingSet, options: TrainOptions): TrainResult {
  const { train: trainIdx, validation } = splitByGame(
    set,
    options.validationShare ?? 0.1,
    options.seed,
  );
  if (trainIdx.length === 0)
    throw new Error('no training positions: give more games or a smaller validationShare');
  const params = options.initialParams
    ? copyParams(options.initialParams, options.config)
    : initParams(options.config, options.seed);
  const optimizer = tf.train.adam(options.learningRate);
  const vars = [...params.values()];
  const rng = mulberry(options.seed);
  const stepsPerEpoch = Math.ceil(trainIdx.length / options.batchSize);
  const totalSteps = Math.min(options.maxSteps ?? Infinity, stepsPerEpoch * options.epochs);
  const reportEvery = options.reportEvery ?? 50;
  const validateEvery = options.validateEvery ?? 50;
  // A fixed subsample keeps the frequent checks cheap; the full held-out set is used per epoch.
  const probe = (validation.length ? validation : trainIdx)
    .filter((_, i, a) => i % Math.max(1, Math.floor(a.length / 4096)) === 0)
    .slice(0, 4096);
  const curve: TrainResult['curve'] = [];
  let step = 0;
  let running = NaN;
  const evaluate = (epoch: number): void => {
    const validationLoss = evaluateLoss(
      params,
      options.config,
      set,
      validation.length ? validation : trainIdx.slice(0, 2048),
    );
    curve.push({ step, trainLoss: running, validationLoss });
    options.onProgress?.({ step, totalSteps, epoch, trainLoss: running, validationLoss });
  };
  evaluate(0);
  for (let epoch = 1; epoch <= options.epochs && step < totalSteps; epoch++) {
    // Fisher–Yates shuffle of the training indices each epoch.
    for (let i = trainIdx.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [trainIdx[i], trainIdx[j]] = [trainIdx[j] as number, trainIdx[i] as number];
    }
    for (let i = 0; i < trainIdx.length && step < totalSteps; i += options.batchSize) {
      const part = trainIdx.slice(i, i + options.batchSize);
      const loss = tf.tidy(() => {
        const b = take(set, part);
        return optimizer.minimize(() => lossOf(params, options.config, b), true, vars) as tf.Scalar;
      });
      const l = loss.dataSync()[0] as number;
      loss.dispose();
      running = Number.isNaN(running) ? l : 0.95 * running + 0.05 * l;
      step++;
      if (step % validateEvery === 0 && step < totalSteps) {
        const validationLoss = evaluateLoss(params, options.config, set, probe);
        curve.push({ step, trainLoss: running, validationLoss });
        options.onProgress?.({ step, totalSteps, epoch, trainLoss: running, validationLoss });
      } else if (step % reportEvery === 0 && step < totalSteps)
        options.onProgress?.({ step, totalSteps, epoch, trainLoss: running });
    }
    evaluate(epoch);
  }
  optimizer.dispose();
  return { params, curve, trainPositions: trainIdx.length, validationPositions: validation.length };
}
