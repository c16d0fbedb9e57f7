import path from 'node:path';
import { BaselineClassifier } from '../baseline/baseline-model';
import type { Example } from '../data/formats';
import { qualityOf, type Label } from '../labels';
import type { Prediction } from '../model/prediction';
import { pairedBootstrapDifference, wilsonInterval } from './confidence';
import type { EvaluationReport } from './metrics';

/** Whether each prediction is right, in the report's own terms (three-way, or HQ/LQ two-way). */
export function correctness(
  examples: readonly Example[],
  predictions: readonly Prediction[],
  kind: EvaluationReport['kind'],
): boolean[] {
  return examples.map((e, i) => {
    const label = (predictions[i] as Prediction).label;
    if (kind === 'class') return e.target.kind === 'class' && e.target.label === label;
    const truth = e.target.kind === 'class' ? qualityOf(e.target.label) : e.target.quality;
    return qualityOf(label) === truth;
  });
}

const f4 = (x: number) => x.toFixed(4);
const signed = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(4);

export function intervalLine(correct: readonly boolean[]): string {
  const n = correct.length;
  const k = correct.filter(Boolean).length;
  const ci = wilsonInterval(k, n);
  return `95% confidence interval (Wilson, ${k}/${n} right): [${f4(ci.low)}, ${f4(ci.high)}]`;
}

/**
 * The lines printed beside a figure: the comparison model's accuracy on exactly the same rows
 * with its own interval, and the paired-bootstrap interval of the difference.
 */
export function comparisonLines(
  name: string,
  model: readonly boolean[],
  baseline: readonly boolean[],
): string[] {
  const n = baseline.length;
  const k = baseline.filter(Boolean).length;
  const ci = wilsonInterval(k, n);
  const d = pairedBootstrapDifference(model, baseline);
  return [
    `${name} on the same ${n} rows: accuracy ${f4(k / Math.max(1, n))}, 95% CI [${f4(ci.low)}, ${f4(ci.high)}]`,
    `difference (this model − ${name.split(' (')[0]}): ${signed(d.difference)}, paired bootstrap 95% CI [${signed(d.interval.low)}, ${signed(d.interval.high)}] (${d.resamples} resamples, seed ${d.seed})`,
  ];
}

/** Three-way labels of training rows; a two-way row cannot train the baseline. */
export function trainingLabels(examples: readonly Example[], file: string): Label[] {
  return examples.map((e) => {
    if (e.target.kind !== 'class') {
      throw new Error(
        `${file}:${e.line}: training needs three-way labels (HQ, LQ_EDIT, LQ_CLOSE), this row says only ${e.target.quality}`,
      );
    }
    return e.target.label;
  });
}

/**
 * A TF-IDF baseline trained on exactly the given training rows (seconds to a minute on 2 CPU
 * cores): the comparison for rows no saved baseline is guaranteed not to have seen, e.g. the
 * validation split, which the shipped baseline trained on.
 */
export function trainComparisonBaseline(
  train: readonly Example[],
  file: string,
  trainedOn: Record<string, unknown>,
): BaselineClassifier {
  return BaselineClassifier.train(
    train.map((e) => e.text),
    trainingLabels(train, file),
    {},
    { file: path.basename(file), rows: train.length, ...trainedOn },
  ).model;
}
