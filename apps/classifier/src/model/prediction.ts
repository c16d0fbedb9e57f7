import { LABELS, type Label } from '../labels';

export interface Prediction {
  readonly label: Label;
  /** One probability per class; they sum to 1. */
  readonly probabilities: Readonly<Record<Label, number>>;
}

/** The most probable class wins; ties go to the earlier class in LABELS order (deterministic). */
export function predictionFrom(probabilities: readonly number[]): Prediction {
  if (probabilities.length !== LABELS.length) {
    throw new Error(`expected ${LABELS.length} class probabilities, got ${probabilities.length}`);
  }
  let best = 0;
  probabilities.forEach((p, i) => {
    if (p > (probabilities[best] as number)) best = i;
  });
  const record = {} as Record<Label, number>;
  LABELS.forEach((label, i) => (record[label] = probabilities[i] as number));
  return { label: LABELS[best] as Label, probabilities: record };
}

/**
 * What serving, the worker and evaluation need from a model: a batch of normalised texts in,
 * one prediction per text out. The T5 model, the TF-IDF baseline and an ensemble of them implement it.
 */
export interface QualityClassifier {
  readonly kind: 't5' | 'tfidf-logreg' | 'ensemble';
  /** Shown in /debug/vars and eval output: what model this is and how it was trained. */
  readonly description: Readonly<Record<string, unknown>>;
  /** The largest batch the model should be given at once. */
  readonly maxBatchSize: number;
  predict(texts: readonly string[]): Promise<Prediction[]>;
  dispose(): void;
}
