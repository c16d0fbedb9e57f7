import { BaselineClassifier, type BaselineOptions } from '../baseline/baseline-model';
import { trainingSideWithExtra, type ExtraDataInput } from '../data/extra-data';
import type { Example } from '../data/formats';
import { DEFAULT_HOLDOUT, holdoutSide, type Holdout } from '../data/holdout';
import { readDataset } from '../data/read-dataset';
import { selectionSplits, type ValidationSplit } from '../data/selection-split';
import { formatReport } from '../eval/report';
import { runEvaluation } from '../eval/run-evaluation';
import type { Label } from '../labels';

export interface BaselineCommandOptions {
  train: string;
  evalFiles: string[];
  holdout: Holdout;
  /** More labelled rows for the training side only, as `train --extra-data` takes them. */
  extra?: ExtraDataInput;
  /**
   * Keep this validation split (of the training side, as `train` carves it) out of training too,
   * and score it instead of the held-out side: a baseline for choices made on validation, e.g.
   * an ensemble's weight. Recorded as `trainedOn.validation`, as a T5 records it.
   */
  excludeValidation?: ValidationSplit;
  /** Use only the first n rows of `train` (as `train --limit`; recorded as `trainedOn.limit`). */
  limit?: number;
  save?: string;
  model: Partial<BaselineOptions>;
  log?: (line: string) => void;
}

export function classLabels(examples: readonly Example[], file: string): Label[] {
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
 * `classifier baseline`: TF-IDF + logistic regression trained on the same training side of the
 * same split as the T5 model, evaluated on the held-out side (and any --eval files), so the two
 * are compared on identical rows.
 */
export async function baselineCommand(options: BaselineCommandOptions): Promise<void> {
  const log = options.log ?? ((line: string) => process.stdout.write(line + '\n'));
  const dataset = await readDataset(
    options.train,
    options.limit !== undefined ? { limit: options.limit } : {},
  );
  const exclude = options.excludeValidation;
  let mainTrain: Example[];
  // Rows never trained on: the held-out side, and with --exclude-validation the validation split.
  let unseen: Example[];
  let scored: { name: string; examples: Example[] };
  if (exclude) {
    const s = selectionSplits(dataset.examples, options.holdout, exclude);
    mainTrain = s.train;
    unseen = [...s.validation, ...s.heldOut];
    // What this baseline is for is choosing on validation; the held-out side stays unread here
    // (score it once per shipped model with `eval --split holdout`).
    scored = {
      name: `${options.train} validation split (fraction ${exclude.fraction} of the training side, seed ${exclude.seed}; held out: fraction ${options.holdout.fraction}, seed ${options.holdout.seed}, not scored)`,
      examples: s.validation,
    };
  } else {
    mainTrain = holdoutSide(dataset.examples, options.holdout, 'train');
    unseen = holdoutSide(dataset.examples, options.holdout, 'validation');
    scored = {
      name: `${options.train} held-out validation side (fraction ${options.holdout.fraction}, seed ${options.holdout.seed})`,
      examples: unseen,
    };
  }
  let train = mainTrain;
  let extraInfo: Record<string, unknown> = {};
  if (options.extra) {
    const extra = await trainingSideWithExtra(
      options.extra,
      { train: mainTrain, validation: unseen },
      log,
    );
    train = extra.train;
    extraInfo = {
      extra: {
        labels: options.extra.labels ?? 'all',
        dropEmptyBody: options.extra.dropEmptyBody ?? false,
        ...(options.extra.tag ? { tag: options.extra.tag } : {}),
        files: extra.reports,
      },
    };
  }
  const started = performance.now();
  const { model, losses } = BaselineClassifier.train(
    train.map((e) => e.text),
    classLabels(train, options.train),
    options.model,
    {
      file: options.train,
      rows: mainTrain.length,
      holdout: options.holdout,
      ...(exclude ? { validation: exclude } : {}),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      ...extraInfo,
    },
  );
  const trainSeconds = (performance.now() - started) / 1000;
  log(
    `baseline: TF-IDF (${JSON.stringify(model.description['features'])} features) + logistic regression, ` +
      `trained on ${train.length} rows in ${trainSeconds.toFixed(1)} s; loss per epoch ${losses.map((l) => l.toFixed(3)).join(' ')}`,
  );
  if (options.save) {
    await model.save(options.save);
    log(`saved to ${options.save}`);
  }
  const evaluations = [scored];
  for (const file of options.evalFiles)
    evaluations.push({ name: file, examples: [...(await readDataset(file)).examples] });
  for (const { name, examples } of evaluations) {
    const { report } = await runEvaluation(model, examples);
    log(`\n${formatReport(report, [`data: ${name} (${examples.length} rows)`])}`);
  }
}

export { DEFAULT_HOLDOUT };
