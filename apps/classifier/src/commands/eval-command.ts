import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Example } from '../data/formats';
import { DEFAULT_HOLDOUT } from '../data/holdout';
import { readDataset } from '../data/read-dataset';
import { selectionSplits } from '../data/selection-split';
import {
  comparisonLines,
  correctness,
  intervalLine,
  trainComparisonBaseline,
} from '../eval/comparison';
import { formatReport } from '../eval/report';
import { runEvaluation } from '../eval/run-evaluation';
import { loadClassifier } from '../model/load-classifier';
import type { QualityClassifier } from '../model/prediction';
import { progressBar } from './progress';
import { recordedSplits, requireValidationSplit, sameSplit, type Splits } from './recorded-splits';

/**
 * Which rows of `--data` to score: all of them, the held-out side (reported once per shipped
 * model) or the validation split (what models and checkpoints are chosen on).
 */
export type EvalSplit = 'all' | 'holdout' | 'validation';
export const EVAL_SPLITS: readonly EvalSplit[] = ['all', 'holdout', 'validation'];

export interface EvalOptions {
  data: string;
  model: string;
  split: EvalSplit;
  limit?: number;
  batchSize?: number;
  /** Override a T5 model's input window (first headTokens + last tailTokens). */
  headTokens?: number;
  tailTokens?: number;
  /** A model scored on the same rows beside this one (the TF-IDF baseline), or false for none. */
  baseline: string | false;
}

/** The window a T5 model directory's manifest sets; an error for anything else. */
async function t5Window(dir: string): Promise<{ headTokens: number; tailTokens: number }> {
  const manifest = JSON.parse(await readFile(path.join(dir, 'classifier.json'), 'utf8')) as {
    kind?: unknown;
    headTokens?: unknown;
    tailTokens?: unknown;
  };
  if (manifest.kind !== 't5')
    throw new Error(
      `--head-tokens/--tail-tokens set a T5 model's input window; ${dir} holds a ${String(manifest.kind)} model`,
    );
  return { headTokens: Number(manifest.headTokens), tailTokens: Number(manifest.tailTokens) };
}

/**
 * The comparison model for the scored rows. A saved baseline is used only when its own manifest
 * shows it never trained on them; otherwise (e.g. the validation split, which the shipped
 * baseline trained on) a TF-IDF baseline is trained here on the model's training rows.
 */
async function comparisonModel(
  options: EvalOptions,
  splits: Splits,
  trainRows: readonly Example[] | undefined,
  log: (line: string) => void,
): Promise<{ model: QualityClassifier; name: string } | undefined> {
  if (options.baseline === false) return undefined;
  if (path.resolve(options.baseline) === path.resolve(options.model)) return undefined;
  const saved = await loadClassifier(options.baseline);
  if (options.split === 'all' || trainRows === undefined) {
    const own = recordedSplits(saved);
    if (own.file === path.basename(options.data))
      log(
        `note: ${options.baseline} was trained on rows of ${own.file}; on the whole file both models are scored partly on rows they learnt`,
      );
    return { model: saved, name: `comparison model ${options.baseline} (${saved.kind})` };
  }
  const own = recordedSplits(saved);
  const unseen =
    own.file === path.basename(options.data) &&
    sameSplit(own.holdout, splits.holdout) &&
    (options.split === 'holdout' || sameSplit(own.validation, splits.validation));
  if (unseen) return { model: saved, name: `TF-IDF baseline (${options.baseline})` };
  saved.dispose();
  log(
    `baseline: ${options.baseline} may have trained on these rows; training a TF-IDF baseline on this model's ${trainRows.length} training rows instead`,
  );
  const model = trainComparisonBaseline(trainRows, options.data, { holdout: splits.holdout });
  return { model, name: `TF-IDF baseline (trained on the same ${trainRows.length} rows)` };
}

/** `classifier eval`: per-class metrics, the confusion matrix, CI and baseline, `accuracy=…` last. */
export async function evalCommand(options: EvalOptions): Promise<void> {
  const overridden = options.headTokens !== undefined || options.tailTokens !== undefined;
  const manifestWindow = overridden ? await t5Window(options.model) : undefined;
  const window = manifestWindow && {
    headTokens: options.headTokens ?? manifestWindow.headTokens,
    tailTokens: options.tailTokens ?? manifestWindow.tailTokens,
  };
  const model = await loadClassifier(options.model, window ? { window } : {});
  const dataset = await readDataset(options.data);
  let examples = [...dataset.examples];
  const header = [
    `model: ${options.model} (${model.kind})` +
      (window && manifestWindow
        ? `, input window ${window.headTokens} + ${window.tailTokens} tokens (the model's own: ${manifestWindow.headTokens} + ${manifestWindow.tailTokens})`
        : ''),
    `data: ${options.data} (format ${dataset.format}, encoding ${dataset.encoding}, ${dataset.examples.length} rows)`,
  ];
  const splits = recordedSplits(model);
  let trainRows: Example[] | undefined;
  if (options.split === 'holdout') {
    const s = selectionSplits(examples, splits.holdout, splits.validation ?? DEFAULT_HOLDOUT);
    trainRows = [...s.train, ...s.validation];
    examples = s.heldOut;
    header.push(
      `split: the held-out side (fraction ${splits.holdout.fraction}, seed ${splits.holdout.seed}): ${examples.length} rows — report this once per shipped model, never choose on it`,
    );
  } else if (options.split === 'validation') {
    const validation = requireValidationSplit(
      options.model,
      splits,
      'Evaluate it with --split holdout, or train a model with this version of `classifier train`',
    );
    const s = selectionSplits(examples, splits.holdout, validation);
    trainRows = s.train;
    examples = s.validation;
    header.push(
      `split: the validation split (fraction ${validation.fraction} of the training side, seed ${validation.seed}; held-out fraction ${splits.holdout.fraction}, seed ${splits.holdout.seed}): ${examples.length} rows`,
    );
    if (model.kind === 'ensemble')
      header.push(
        "note: an ensemble's weights were chosen on these rows, so this figure is optimistic; report the held-out side",
      );
  }
  if (options.limit !== undefined) {
    examples = examples.slice(0, options.limit);
    header.push(`limited to the first ${examples.length} rows`);
  }
  const bar = progressBar('eval', examples.length);
  const { report, predictions, seconds } = await runEvaluation(model, examples, {
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    onProgress: (done) => bar.update(done),
  });
  bar.stop();
  model.dispose();
  header.push(
    `time: ${seconds.toFixed(1)} s (${(examples.length / seconds).toFixed(1)} examples/s)`,
    '',
  );
  const right = correctness(examples, predictions, report.kind);
  const notes = [intervalLine(right)];
  const comparison = await comparisonModel(options, splits, trainRows, (line) => notes.push(line));
  if (comparison) {
    const { predictions: theirs } = await runEvaluation(comparison.model, examples);
    notes.push(
      ...comparisonLines(comparison.name, right, correctness(examples, theirs, report.kind)),
    );
    comparison.model.dispose();
  }
  process.stdout.write(formatReport(report, header, notes) + '\n');
}
