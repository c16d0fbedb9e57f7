import path from 'node:path';
import { wilsonInterval, type Interval } from '../eval/confidence';
import type { ClassReport } from '../eval/metrics';
import { LABELS, type Label } from '../labels';
import { T5_PREFIX, type T5Manifest } from '../model/t5-manifest';
import type { TrainingData } from './train-data';
import type { TrainOptions } from './train-options';

const countTrue = (xs: readonly boolean[]) => xs.filter(Boolean).length;
const roundInterval = (i: Interval) => ({
  low: Number(i.low.toFixed(4)),
  high: Number(i.high.toFixed(4)),
});

/** What the model is and what it was trained on (known before training starts). */
export function baseManifest(options: TrainOptions, hash: string, data: TrainingData): T5Manifest {
  return {
    kind: 't5',
    version: `t5-so-quality-${hash}`,
    prefix: T5_PREFIX,
    shapeSummary: options.shapeSummary,
    headTokens: options.headTokens,
    tailTokens: options.tailTokens,
    trainedOn: {
      file: path.basename(options.data),
      rows: data.mainTrainRows,
      holdout: options.holdout,
      validation: options.validation,
      ...(options.extra
        ? {
            extra: {
              labels: options.extra.labels ?? [...LABELS],
              dropEmptyBody: options.extra.dropEmptyBody,
              files: data.extraReports.map((r) => ({ ...r, file: path.basename(r.file) })),
            },
          }
        : {}),
    },
  };
}

/** The validation metrics stored in classifier.json: accuracy with its CI and the baseline's. */
export function validationMetrics(
  options: TrainOptions,
  final: { report: ClassReport; loss: number; right: boolean[] },
  baselineRight: readonly boolean[],
): Record<string, unknown> {
  return {
    split: `validation split of ${path.basename(options.data)} (fraction ${options.validation.fraction} of the training side, seed ${options.validation.seed}; held out: fraction ${options.holdout.fraction}, seed ${options.holdout.seed})`,
    rows: final.report.total,
    accuracy: Number(final.report.accuracy.toFixed(4)),
    interval95: roundInterval(wilsonInterval(countTrue(final.right), final.right.length)),
    baseline: {
      model: 'TF-IDF + logistic regression trained on the same training rows',
      accuracy: Number((countTrue(baselineRight) / Math.max(1, baselineRight.length)).toFixed(4)),
      interval95: roundInterval(wilsonInterval(countTrue(baselineRight), baselineRight.length)),
    },
    validationLoss: Number(final.loss.toFixed(4)),
    perClass: Object.fromEntries(
      LABELS.map((l: Label) => [
        l,
        {
          precision: Number(final.report.perClass[l].precision.toFixed(4)),
          recall: Number(final.report.perClass[l].recall.toFixed(4)),
        },
      ]),
    ),
    confusionMatrix: final.report.matrix,
  };
}

/** The options as stored in a shipped manifest: file names only, no local directories. */
export function publicOptions(options: TrainOptions): Record<string, unknown> {
  return {
    ...options,
    data: path.basename(options.data),
    ...(options.wordVectors ? { wordVectors: path.basename(options.wordVectors) } : {}),
    ...(options.extra
      ? {
          extra: { ...options.extra, files: options.extra.files.map((f) => path.basename(f)) },
        }
      : {}),
    runDir: undefined,
    out: undefined,
  };
}
