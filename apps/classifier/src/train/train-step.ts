import * as tf from '@tensorflow/tfjs-core';
import {
  clipByGlobalNorm,
  maskedCrossEntropy,
  type AdamW,
  type T5Batch,
  type T5Model,
} from '@conveyor/t5';

/**
 * The gradient of the batch's mean token loss, keyed by HF parameter name (the caller disposes
 * the tensors), with the loss and the number of label tokens it is the mean over — what a
 * data-parallel step needs to weight the halves of a batch exactly as the whole.
 */
export function computeGradients(
  model: T5Model,
  batch: T5Batch,
  nextDropoutSeed: () => number,
  labelSmoothing = 0,
): { loss: number; tokens: number; grads: Map<string, tf.Tensor> } {
  const nameOf = new Map<string, string>();
  for (const [name, v] of model.params) nameOf.set(v.name, name);
  const { value, grads } = tf.variableGrads(
    () =>
      tf.tidy(() =>
        maskedCrossEntropy(
          model.forward(batch, { training: true, nextDropoutSeed }),
          batch.labels,
          batch.labelMask,
          labelSmoothing,
        ),
      ),
    model.variables(),
  );
  const byName = new Map<string, tf.Tensor>();
  for (const [varName, g] of Object.entries(grads)) byName.set(nameOf.get(varName) ?? varName, g);
  const loss = value.dataSync()[0] as number;
  value.dispose();
  const tokensTensor = tf.sum(batch.labelMask);
  const tokens = tokensTensor.dataSync()[0] as number;
  tokensTensor.dispose();
  return { loss, tokens, grads: byName };
}

/** Clips to the global norm and applies one AdamW update; `grads` are not disposed. */
export function applyGradients(
  model: T5Model,
  optimizer: AdamW,
  grads: Map<string, tf.Tensor>,
  options: { learningRate: number; maxGradNorm: number },
): { gradNorm: number } {
  const { grads: clipped, norm } = clipByGlobalNorm(grads, options.maxGradNorm);
  optimizer.apply(model.params, clipped, options.learningRate);
  if (clipped !== grads) tf.dispose([...clipped.values()]);
  return { gradNorm: norm };
}

/**
 * One teacher-forced step. The library's T5Trainer keeps its step counter private, so a resumed
 * run could not continue the learning-rate schedule where it stopped; taking the rate as an
 * argument lets the run's own step counter drive the schedule.
 */
export function trainStep(
  model: T5Model,
  optimizer: AdamW,
  batch: T5Batch,
  options: {
    learningRate: number;
    maxGradNorm: number;
    nextDropoutSeed: () => number;
    labelSmoothing?: number;
  },
): { loss: number; gradNorm: number } {
  const { loss, grads } = computeGradients(
    model,
    batch,
    options.nextDropoutSeed,
    options.labelSmoothing,
  );
  try {
    return { loss, ...applyGradients(model, optimizer, grads, options) };
  } finally {
    tf.dispose([...grads.values()]);
  }
}

/** Teacher-forced loss without dropout or updates. */
export function batchLoss(model: T5Model, batch: T5Batch): number {
  const loss = tf.tidy(() =>
    maskedCrossEntropy(model.forward(batch), batch.labels, batch.labelMask),
  );
  const v = loss.dataSync()[0] as number;
  loss.dispose();
  return v;
}
