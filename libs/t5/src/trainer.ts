// One teacher-forced training step: masked cross-entropy, gradients, clipping, AdamW, LR schedule.
import * as tf from '@tensorflow/tfjs-core';
import type { T5Batch } from './batch';
import { maskedCrossEntropy } from './loss';
import type { T5Model } from './model';
import { Adafactor, type AdafactorOptions } from './adafactor';
import { AdamW, clipByGlobalNorm, type Optimizer } from './optimizer';
import { createRng, type Rng } from './random';
import { makeSchedule, type LearningRateSchedule, type ScheduleOptions } from './schedule';

export interface TrainerOptions {
  learningRate: number;
  /** Default 'adamw'. Adafactor keeps factored second moments (less memory for big models). */
  optimizer?: 'adamw' | 'adafactor';
  /** Extra Adafactor settings (beta1, clipThreshold, decayRate, scaleParameter…). */
  adafactor?: AdafactorOptions;
  schedule?: ScheduleOptions['kind'];
  warmupSteps?: number;
  totalSteps?: number;
  weightDecay?: number;
  /** Global gradient-norm clip; 0 disables. Default 1.0. */
  maxGradNorm?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Seeds the dropout masks; with the same model weights and batches, training is reproducible. */
  seed: number;
}

export interface StepResult {
  /** 1-based count of steps taken. */
  step: number;
  loss: number;
  /** Gradient global norm before clipping. */
  gradNorm: number;
  learningRate: number;
}

export class T5Trainer {
  readonly model: T5Model;
  readonly optimizer: Optimizer;
  readonly schedule: LearningRateSchedule;
  private readonly maxGradNorm: number;
  private readonly rng: Rng;
  private steps = 0;

  constructor(model: T5Model, options: TrainerOptions) {
    this.model = model;
    this.schedule = makeSchedule({
      kind: options.schedule ?? 'constant',
      learningRate: options.learningRate,
      warmupSteps: options.warmupSteps,
      totalSteps: options.totalSteps,
    });
    if (
      options.optimizer !== undefined &&
      options.optimizer !== 'adamw' &&
      options.optimizer !== 'adafactor'
    ) {
      throw new Error(
        `optimizer "${String(options.optimizer)}" is not supported: use "adamw" or "adafactor"`,
      );
    }
    this.optimizer =
      (options.optimizer ?? 'adamw') === 'adafactor'
        ? new Adafactor({ weightDecay: options.weightDecay, ...options.adafactor })
        : new AdamW({
            beta1: options.beta1,
            beta2: options.beta2,
            epsilon: options.epsilon,
            weightDecay: options.weightDecay,
          });
    this.maxGradNorm = options.maxGradNorm ?? 1.0;
    this.rng = createRng(options.seed);
  }

  get stepCount(): number {
    return this.steps;
  }

  step(batch: T5Batch): StepResult {
    const learningRate = this.schedule(this.steps);
    const variables = this.model.variables();
    const nameOf = new Map<string, string>();
    for (const [name, v] of this.model.params) nameOf.set(v.name, name);
    const nextDropoutSeed = () => this.rng.seed();
    const { value, grads } = tf.variableGrads(
      () =>
        tf.tidy(() => {
          const logits = this.model.forward(batch, { training: true, nextDropoutSeed });
          return maskedCrossEntropy(logits, batch.labels, batch.labelMask);
        }),
      variables,
    );
    const byName = new Map<string, tf.Tensor>();
    for (const [varName, g] of Object.entries(grads)) byName.set(nameOf.get(varName) ?? varName, g);
    const { grads: clipped, norm } = clipByGlobalNorm(byName, this.maxGradNorm);
    this.optimizer.apply(this.model.params, clipped, learningRate);
    const loss = value.dataSync()[0] as number;
    value.dispose();
    tf.dispose(Object.values(grads));
    if (clipped !== byName) tf.dispose([...clipped.values()]);
    this.steps += 1;
    return { step: this.steps, loss, gradNorm: norm, learningRate };
  }

  /** Loss without dropout or updates (validation). */
  evaluateLoss(batch: T5Batch): number {
    const loss = tf.tidy(() =>
      maskedCrossEntropy(this.model.forward(batch), batch.labels, batch.labelMask),
    );
    const v = loss.dataSync()[0] as number;
    loss.dispose();
    return v;
  }

  /** Frees optimizer state; the model stays alive. */
  dispose(): void {
    this.optimizer.dispose();
  }
}
