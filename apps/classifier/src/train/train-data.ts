import { existsSync } from 'node:fs';
import path from 'node:path';
import { T5Tokenizer, trainUnigramTokenizer } from '@conveyor/t5';
import { trainingSideWithExtra, type ExtraFileReport } from '../data/extra-data';
import { readDataset } from '../data/read-dataset';
import { selectionSplits } from '../data/selection-split';
import { correctness, trainComparisonBaseline } from '../eval/comparison';
import type { Label } from '../labels';
import { T5_PREFIX } from '../model/t5-manifest';
import { labelTargets, tokenizeExamples, type TokenizedExample } from './tokenized-data';
import type { TrainOptions } from './train-options';

/** Sentinel tokens of a trained vocabulary (span corruption needs them). */
export const SENTINELS = 32;

export interface TrainingData {
  readonly file: string;
  /** Rows of `--data` trained on (extra rows not counted). */
  readonly mainTrainRows: number;
  readonly extraReports: ExtraFileReport[];
  readonly tokenizer: T5Tokenizer;
  readonly train: TokenizedExample[];
  readonly validation: TokenizedExample[];
  readonly targets: Record<Label, number[]>;
  /** Whether the TF-IDF baseline trained on the same rows gets each validation row right. */
  readonly baselineRight: boolean[];
}

/**
 * Reads and splits the data, adds extra rows, trains the comparison baseline and the tokenizer
 * (or reuses the run's), and tokenises both sides (cached in the run directory).
 */
export async function prepareTrainingData(
  options: TrainOptions,
  log: (line: string) => void,
): Promise<TrainingData> {
  const dataset = await readDataset(
    options.data,
    options.limit !== undefined ? { limit: options.limit } : {},
  );
  // Three disjoint parts: training rows, the validation split every choice during and after
  // training is made on, and the held-out side, which training never reads (only `eval --split
  // holdout` does, once per shipped model).
  const splits = selectionSplits(dataset.examples, options.holdout, options.validation);
  log(
    `data: ${dataset.file} (${dataset.format}); ${splits.train.length} training rows, ${splits.validation.length} validation rows ` +
      `(fraction ${options.validation.fraction} of the training side, seed ${options.validation.seed}), ` +
      `${splits.heldOut.length} held out (fraction ${options.holdout.fraction}, seed ${options.holdout.seed}; not read by training)`,
  );
  // Extra rows join the training side only, minus any copy of a validation or held-out row.
  let extraReports: ExtraFileReport[] = [];
  let trainSide = splits.train;
  if (options.extra) {
    const extra = await trainingSideWithExtra(
      options.extra,
      { train: splits.train, validation: [...splits.validation, ...splits.heldOut] },
      log,
    );
    extraReports = extra.reports;
    trainSide = extra.train;
    log(`training side: ${trainSide.length} rows in all`);
  }
  // The TF-IDF baseline on the same training rows, scored on the same validation rows as the T5,
  // so every figure training prints has its baseline beside it.
  const baseline = trainComparisonBaseline(trainSide, options.data, {
    holdout: options.holdout,
    validation: options.validation,
  });
  const baselinePredictions = await baseline.predict(splits.validation.map((e) => e.text));
  const baselineRight = correctness(splits.validation, baselinePredictions, 'class');

  const tokenizerDir = path.join(options.runDir, 'tokenizer');
  let tokenizer: T5Tokenizer;
  if (options.tokenizer) tokenizer = T5Tokenizer.fromPath(options.tokenizer);
  else if (existsSync(path.join(tokenizerDir, 'tokenizer.json')))
    tokenizer = T5Tokenizer.fromPath(tokenizerDir);
  else {
    const started = performance.now();
    // The vocabulary is learnt from the training side only, so held-out text never shapes it.
    tokenizer = trainUnigramTokenizer(
      trainSide.map((e) => e.text),
      { vocabSize: options.vocabSize, extraIds: SENTINELS },
    );
    tokenizer.save(tokenizerDir);
    log(
      `tokenizer: trained a ${tokenizer.vocabSize}-piece Unigram vocabulary in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  const window = {
    prefix: T5_PREFIX,
    shapeSummary: options.shapeSummary,
    headTokens: options.headTokens,
    tailTokens: options.tailTokens,
    cacheDir: options.runDir,
  };
  return {
    file: dataset.file,
    mainTrainRows: splits.train.length,
    extraReports,
    tokenizer,
    train: tokenizeExamples(trainSide, tokenizer, window),
    validation: tokenizeExamples(splits.validation, tokenizer, window),
    targets: labelTargets(tokenizer),
    baselineRight,
  };
}
