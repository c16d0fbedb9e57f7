import { LABELS, labelIndex, qualityOf, type Label, type Quality } from '../labels';
import type { Target } from '../data/formats';

export interface ClassMetrics {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** How many examples truly are of this class. */
  readonly support: number;
}

/** Three-way evaluation: rows are the true class, columns the predicted one, both in LABELS order. */
export interface ClassReport {
  readonly kind: 'class';
  readonly matrix: number[][];
  readonly perClass: Readonly<Record<Label, ClassMetrics>>;
  readonly accuracy: number;
  readonly total: number;
}

/**
 * Two-way evaluation for files whose truth is only HQ/LQ: rows are HQ/LQ truth, columns still
 * the predicted class, and a prediction counts as correct when its quality matches (none and low
 * are both LQ). Not comparable with a three-way accuracy, and reported as such.
 */
export interface QualityReport {
  readonly kind: 'quality';
  readonly rowLabels: readonly Quality[];
  readonly matrix: number[][];
  readonly perQuality: Readonly<Record<Quality, ClassMetrics>>;
  readonly accuracy: number;
  readonly total: number;
}

export type EvaluationReport = ClassReport | QualityReport;

const ratio = (num: number, den: number): number => (den === 0 ? 0 : num / den);

function metricsFrom(truePositive: number, predicted: number, actual: number): ClassMetrics {
  const precision = ratio(truePositive, predicted);
  const recall = ratio(truePositive, actual);
  return {
    precision,
    recall,
    f1: ratio(2 * precision * recall, precision + recall),
    support: actual,
  };
}

export function evaluateClasses(truth: readonly Label[], predicted: readonly Label[]): ClassReport {
  if (truth.length !== predicted.length) {
    throw new Error(`truth has ${truth.length} labels but predictions ${predicted.length}`);
  }
  const matrix = LABELS.map(() => LABELS.map(() => 0));
  truth.forEach((label, i) => {
    const row = matrix[labelIndex(label)] as number[];
    const col = labelIndex(predicted[i] as Label);
    row[col] = (row[col] ?? 0) + 1;
  });
  const cell = (r: number, c: number): number => matrix[r]?.[c] ?? 0;
  const perClass = {} as Record<Label, ClassMetrics>;
  LABELS.forEach((label, k) => {
    const actual = LABELS.reduce((sum, _, c) => sum + cell(k, c), 0);
    const predictedCount = LABELS.reduce((sum, _, r) => sum + cell(r, k), 0);
    perClass[label] = metricsFrom(cell(k, k), predictedCount, actual);
  });
  const correct = LABELS.reduce((sum, _, k) => sum + cell(k, k), 0);
  return {
    kind: 'class',
    matrix,
    perClass,
    accuracy: ratio(correct, truth.length),
    total: truth.length,
  };
}

export function evaluateQuality(
  truth: readonly Quality[],
  predicted: readonly Label[],
): QualityReport {
  if (truth.length !== predicted.length) {
    throw new Error(`truth has ${truth.length} labels but predictions ${predicted.length}`);
  }
  const rowLabels: Quality[] = ['LQ', 'HQ'];
  const matrix = rowLabels.map(() => LABELS.map(() => 0));
  let correct = 0;
  const counts = { HQ: { tp: 0, predicted: 0, actual: 0 }, LQ: { tp: 0, predicted: 0, actual: 0 } };
  truth.forEach((quality, i) => {
    const label = predicted[i] as Label;
    const row = matrix[rowLabels.indexOf(quality)] as number[];
    const col = labelIndex(label);
    row[col] = (row[col] ?? 0) + 1;
    const predictedQuality = qualityOf(label);
    counts[quality].actual += 1;
    counts[predictedQuality].predicted += 1;
    if (predictedQuality === quality) {
      counts[quality].tp += 1;
      correct += 1;
    }
  });
  return {
    kind: 'quality',
    rowLabels,
    matrix,
    perQuality: {
      HQ: metricsFrom(counts.HQ.tp, counts.HQ.predicted, counts.HQ.actual),
      LQ: metricsFrom(counts.LQ.tp, counts.LQ.predicted, counts.LQ.actual),
    },
    accuracy: ratio(correct, truth.length),
    total: truth.length,
  };
}

/** Evaluates three-way when every example has a class, else two-way (HQ vs LQ) for all of them. */
export function evaluate(
  targets: readonly Target[],
  predicted: readonly Label[],
): EvaluationReport {
  if (targets.every((t) => t.kind === 'class')) {
    return evaluateClasses(
      targets.map((t) => (t as { label: Label }).label),
      predicted,
    );
  }
  return evaluateQuality(
    targets.map((t) => (t.kind === 'class' ? qualityOf(t.label) : t.quality)),
    predicted,
  );
}
