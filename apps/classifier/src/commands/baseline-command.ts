import { BaselineClassifier, type BaselineOptions } from '../baseline/baseline-model';
import { trainingSideWithExtra, type ExtraDataInput } from '../data/extra-data';
import type { Example } from '../data/formats';
import { DEFAULT_HOLDOUT, holdoutSide, type Holdout } from '../data/holdout';
import { readDataset } from '../data/read-dataset';
import { formatReport } from '../eval/report';
import { runEvaluation } from '../eval/run-evaluation';
import type { Label } from '../labels';

export interface BaselineCommandOptions {
  train: string;
  evalFiles: string[];
  holdout: Holdout;
  /** More labelled rows for the training side only, as `train --extra-data` takes them. */
  extra?: ExtraDataInput;
  save?: string;
  model: Partial<BaselineOptions>;
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
  const dataset = await readDataset(options.train);
  const mainTrain = holdoutSide(dataset.examples, options.holdout, 'train');
  const validation = holdoutSide(dataset.examples, options.holdout, 'validation');
  let train = mainTrain;
  let extraInfo: Record<string, unknown> = {};
  if (options.extra) {
    const extra = await trainingSideWithExtra(
      options.extra,
      { train: mainTrain, validation },
      (line) => process.stdout.write(line + '\n'),
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
    { file: options.train, rows: mainTrain.length, holdout: options.holdout, ...extraInfo },
  );
  const trainSeconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `baseline: TF-IDF (${JSON.stringify(model.description['features'])} features) + logistic regression, ` +
      `trained on ${train.length} rows in ${trainSeconds.toFixed(1)} s; loss per epoch ${losses.map((l) => l.toFixed(3)).join(' ')}\n`,
  );
  if (options.save) {
    await model.save(options.save);
    process.stdout.write(`saved to ${options.save}\n`);
  }
  const evaluations: { name: string; examples: Example[] }[] = [
    {
      name: `${options.train} held-out validation side (fraction ${options.holdout.fraction}, seed ${options.holdout.seed})`,
      examples: validation,
    },
  ];
  for (const file of options.evalFiles)
    evaluations.push({ name: file, examples: [...(await readDataset(file)).examples] });
  for (const { name, examples } of evaluations) {
    const { report } = await runEvaluation(model, examples);
    process.stdout.write(
      `\n${formatReport(report, [`data: ${name} (${examples.length} rows)`])}\n`,
    );
  }
}

export { DEFAULT_HOLDOUT };
