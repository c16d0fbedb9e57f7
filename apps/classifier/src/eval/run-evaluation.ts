import type { Example } from '../data/formats';
import type { Prediction, QualityClassifier } from '../model/prediction';
import { evaluate, type EvaluationReport } from './metrics';

/** Predicts every example in batches of the model's size and scores the predictions. */
export async function runEvaluation(
  model: QualityClassifier,
  examples: readonly Example[],
  options: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ report: EvaluationReport; predictions: Prediction[]; seconds: number }> {
  if (examples.length === 0) throw new Error('nothing to evaluate: the data set has no rows');
  const batchSize = Math.max(
    1,
    Math.min(options.batchSize ?? model.maxBatchSize, model.maxBatchSize),
  );
  const predictions: Prediction[] = [];
  const started = performance.now();
  for (let i = 0; i < examples.length; i += batchSize) {
    const batch = examples.slice(i, i + batchSize);
    predictions.push(...(await model.predict(batch.map((e) => e.text))));
    options.onProgress?.(predictions.length, examples.length);
  }
  const report = evaluate(
    examples.map((e) => e.target),
    predictions.map((p) => p.label),
  );
  return { report, predictions, seconds: (performance.now() - started) / 1000 };
}
