import * as tf from '@tensorflow/tfjs-core';
import {
  clipByGlobalNorm,
  maskedCrossEntropy,
  type AdamW,
  type T5Batch,
  type T5Model,
} from '@conveyor/t5';

/**
 * One teacher-forced step. The library's T5Trainer keeps its step counter private, so a resumed
 * run could not continue the learning-rate schedule where it stopped; taking the rate as an
 * argument lets the run's own step counter drive the schedule.
 */
export function trainStep(
  model: T5Model,
  optimizer: AdamW,
  batch: T5Batch,
  options: { learningRate: number; maxGradNorm: number; nextDropoutSeed: () => number },
): { loss: number; gradNorm: number } {
  const nameOf = new Map<string, string>();
  for (const [name, v] of model.params) nameOf.set(v.name, name);
  const { value, grads } = tf.variableGrads(
    () =>
      tf.tidy(() =>
        maskedCrossEntropy(
          model.forward(batch, { training: true, nextDropoutSeed: options.nextDropoutSeed }),
          batch.labels,
          batch.labelMask,
        ),
      ),
    model.variables(),
  );
  const byName = new Map<string, tf.Tensor>();
  for (const [varName, g] of Object.entries(grads)) byName.set(nameOf.get(varName) ?? varName, g);
  const { grads: clipped, norm } = clipByGlobalNorm(byName, options.maxGradNorm);
  optimizer.apply(model.params, clipped, options.learningRate);
  const loss = value.dataSync()[0] as number;
  value.dispose();
  tf.dispose(Object.values(grads));
  if (clipped !== byName) tf.dispose([...clipped.values()]);
  return { loss, gradNorm: norm };
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
