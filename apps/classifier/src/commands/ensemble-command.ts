import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Example } from '../data/formats';
import { readDataset } from '../data/read-dataset';
import { selectionSplits } from '../data/selection-split';
import { comparisonLines, intervalLine, trainingLabels } from '../eval/comparison';
import { runEvaluation } from '../eval/run-evaluation';
import { LABELS } from '../labels';
import { fitBaselineWeight, type WeightFit } from '../model/ensemble-fit';
import type { CombineRule, EnsembleManifest } from '../model/ensemble-manifest';
import { loadClassifier } from '../model/load-classifier';
import type { QualityClassifier } from '../model/prediction';
import { WORKSPACE_ROOT } from '../paths';
import { requireValidationSplit, sameSplit, splitsFrom, type Splits } from './recorded-splits';

export interface EnsembleCommandOptions {
  /** A T5 model directory trained with a validation split kept out (`classifier train`). */
  t5: string;
  /** A TF-IDF baseline trained with the same splits (`classifier baseline --exclude-validation`). */
  baseline: string;
  out: string;
  /** The labelled CSV both members were trained on; its validation split is what the weight is fitted on. */
  data: string;
  combine: CombineRule;
  gridStep: number;
  log?: (line: string) => void;
  /** How member directories are loaded (loadClassifier; tests wrap it to see the rows read). */
  loadMember?: (dir: string) => Promise<QualityClassifier>;
}

/** Where the members are copied inside the ensemble directory. */
export const MEMBER_DIRS = { t5: 'members/t5', baseline: 'members/baseline' } as const;

export interface EnsembleResult {
  readonly out: string;
  readonly manifest: EnsembleManifest;
  readonly fit: WeightFit;
  /** The validation rows the weight was fitted on, in order. */
  readonly rows: readonly Example[];
}

async function readManifest(dir: string, what: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'classifier.json'), 'utf8')) as Record<
      string,
      unknown
    >;
  } catch (error) {
    throw new Error(`${what} ${dir}: cannot read classifier.json (${(error as Error).message})`);
  }
}

const splitText = (s: { fraction: number; seed: number }) =>
  `fraction ${s.fraction}, seed ${s.seed}`;

interface Plan {
  splits: Required<Pick<Splits, 'holdout' | 'validation'>>;
  file: string;
  rows: number;
  limit?: number;
  t5Version: string;
  note?: string;
}

/**
 * Refuses members the weight could not be fitted on honestly: a T5 or baseline that may have
 * trained on validation rows (no recorded validation split — the check `eval --split
 * validation` makes), members with different splits or training rows, or another data file.
 */
async function plan(options: EnsembleCommandOptions): Promise<Plan> {
  const t5 = await readManifest(options.t5, '--t5');
  const baseline = await readManifest(options.baseline, '--baseline');
  if (t5['kind'] !== 't5')
    throw new Error(`--t5 ${options.t5} holds a ${String(t5['kind'])} model, not a T5`);
  if (baseline['kind'] !== 'tfidf-logreg')
    throw new Error(
      `--baseline ${options.baseline} holds a ${String(baseline['kind'])} model, not a TF-IDF baseline`,
    );
  const t5Splits = splitsFrom(t5['trainedOn']);
  const t5Validation = requireValidationSplit(
    options.t5,
    t5Splits,
    'Its weight cannot be fitted on the validation split honestly: use a T5 trained with this version of `classifier train`.',
  );
  const baselineSplits = splitsFrom(baseline['trainedOn']);
  const baselineValidation = requireValidationSplit(
    options.baseline,
    baselineSplits,
    "Train one without those rows: `classifier baseline --exclude-validation --save DIR` (with the T5's held-out and validation splits).",
  );
  if (!sameSplit(t5Splits.holdout, baselineSplits.holdout))
    throw new Error(
      `the members hold out different rows: the T5 ${splitText(t5Splits.holdout)}, the baseline ${splitText(baselineSplits.holdout)} (baseline --holdout-fraction/--seed)`,
    );
  if (!sameSplit(t5Validation, baselineValidation))
    throw new Error(
      `the members keep out different validation splits: the T5 ${splitText(t5Validation)}, the baseline ${splitText(baselineValidation)} (baseline --validation-fraction/--validation-seed)`,
    );
  const file = path.basename(options.data);
  for (const [what, splits] of [
    ['T5', t5Splits],
    ['baseline', baselineSplits],
  ] as const)
    if (splits.file !== file)
      throw new Error(
        `the ${what} was trained on ${splits.file ?? 'an unrecorded file'}, not ${file}: the validation split of --data must be the one it kept out`,
      );
  const t5Options = ((t5['training'] ?? {}) as { options?: { limit?: unknown } }).options ?? {};
  const t5Limit = typeof t5Options.limit === 'number' ? t5Options.limit : undefined;
  const baselineOn = baseline['trainedOn'] as Record<string, unknown>;
  const baselineLimit = typeof baselineOn['limit'] === 'number' ? baselineOn['limit'] : undefined;
  if (t5Limit !== baselineLimit)
    throw new Error(
      `the T5 was trained on ${t5Limit === undefined ? 'all rows' : `the first ${t5Limit} rows`} of ${file}, the baseline on ${baselineLimit === undefined ? 'all rows' : `the first ${baselineLimit}`}: the splits differ (baseline --limit)`,
    );
  const t5Rows = (t5['trainedOn'] as Record<string, unknown>)['rows'];
  if (t5Rows !== baselineOn['rows'])
    throw new Error(
      `the T5 trained on ${String(t5Rows)} rows of ${file}, the baseline on ${String(baselineOn['rows'])}: they must share their training rows`,
    );
  const extraFiles = (trainedOn: unknown) =>
    (
      ((trainedOn as { extra?: { files?: { file?: unknown }[] } }).extra?.files ?? []) as {
        file?: unknown;
      }[]
    )
      .map((f) => path.basename(String(f.file)))
      .join(', ') || 'none';
  const extra = { t5: extraFiles(t5['trainedOn']), baseline: extraFiles(baselineOn) };
  return {
    ...(extra.t5 !== extra.baseline
      ? {
          note: `note: the members trained on different extra data (T5: ${extra.t5}; baseline: ${extra.baseline}); the validation rows are unseen by both all the same`,
        }
      : {}),
    splits: { holdout: t5Splits.holdout, validation: t5Validation },
    file,
    rows: Number(t5Rows),
    ...(t5Limit !== undefined ? { limit: t5Limit } : {}),
    t5Version: String(t5['version']),
  };
}

/** A content hash of a directory's files (paths and bytes): the members' identity in the version. */
async function hashDir(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const files = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
  for (const file of files)
    hash.update(`${file}\u0000`).update(await readFile(path.join(dir, file)));
  return hash.digest('hex');
}

/** Where a member came from, as a path inside the repository when it is one (never a home dir). */
function origin(dir: string): string {
  const relative = path.relative(WORKSPACE_ROOT, path.resolve(dir));
  return relative.startsWith('..') || path.isAbsolute(relative) ? path.basename(dir) : relative;
}

const f4 = (x: number) => x.toFixed(4);

/**
 * `classifier ensemble`: fits the baseline's weight against the T5's on the validation split
 * only (a grid; best accuracy, ties → the smaller baseline weight), then writes an ensemble
 * directory with copies of both members, so it ships and serves as one model directory.
 */
export async function ensembleCommand(options: EnsembleCommandOptions): Promise<EnsembleResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(line + '\n'));
  const load = options.loadMember ?? ((dir: string) => loadClassifier(dir));
  if (existsSync(options.out) && (await readdir(options.out)).length > 0)
    throw new Error(`${options.out} exists and is not empty; choose another --out or remove it`);
  const p = await plan(options);
  if (p.note) log(p.note);
  const dataset = await readDataset(options.data, p.limit !== undefined ? { limit: p.limit } : {});
  const rows = selectionSplits(dataset.examples, p.splits.holdout, p.splits.validation).validation;
  if (rows.length === 0) throw new Error(`the validation split of ${options.data} has no rows`);
  const truth = trainingLabels(rows, options.data);
  log(
    `fitting the baseline's weight on the validation split of ${p.file}: ${rows.length} rows (${splitText(p.splits.validation)} of the training side; held out ${splitText(p.splits.holdout)}, not read)`,
  );

  const scores: Record<'t5' | 'baseline', number[][]> = { t5: [], baseline: [] };
  for (const which of ['t5', 'baseline'] as const) {
    const model = await load(options[which]);
    try {
      const { predictions, seconds } = await runEvaluation(model, rows);
      scores[which] = predictions.map((pr) => LABELS.map((l) => pr.probabilities[l]));
      log(
        `scored ${rows.length} rows with the ${which === 't5' ? 'T5' : 'baseline'} in ${seconds.toFixed(1)} s`,
      );
    } finally {
      model.dispose();
    }
  }
  const fit = fitBaselineWeight(
    scores.t5,
    scores.baseline,
    truth,
    options.combine,
    options.gridStep,
  );
  log(
    `${options.combine} combination, validation accuracy per baseline weight (T5 weight = 1 − it):`,
  );
  for (const point of fit.grid)
    log(
      `  baseline ${point.baselineWeight.toFixed(2)}  T5 ${(1 - point.baselineWeight).toFixed(2)}  accuracy ${f4(point.accuracy)} (${point.right}/${rows.length})${point === fit.chosen ? '  ← chosen' : ''}`,
    );
  const alone = (w: number) => fit.grid.find((g) => g.baselineWeight === w) as (typeof fit.grid)[0];
  const baselineCorrect = truth.map((label, i) => {
    const pr = scores.baseline[i] as number[];
    return LABELS[pr.indexOf(Math.max(...pr))] === label;
  });

  // Members are copied, not referenced: the ensemble directory is then one self-contained model
  // to ship (the image copies one directory), and a member's run directory being resumed or
  // deleted later cannot silently change what the ensemble serves.
  const staging = `${path.resolve(options.out)}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(path.dirname(staging), { recursive: true });
  await cp(options.t5, path.join(staging, MEMBER_DIRS.t5), { recursive: true });
  await cp(options.baseline, path.join(staging, MEMBER_DIRS.baseline), { recursive: true });
  const t5Hash = await hashDir(path.join(staging, MEMBER_DIRS.t5));
  const baselineHash = await hashDir(path.join(staging, MEMBER_DIRS.baseline));
  const w = fit.chosen.baselineWeight;
  const weights = { t5: Number((1 - w).toFixed(6)), baseline: w };
  const version = `ensemble-so-quality-${createHash('sha256')
    .update(JSON.stringify([t5Hash, baselineHash, weights, options.combine]))
    .digest('hex')
    .slice(0, 16)}`;
  const manifest: EnsembleManifest = {
    kind: 'ensemble',
    version,
    combine: options.combine,
    members: [
      {
        dir: MEMBER_DIRS.t5,
        weight: weights.t5,
        kind: 't5',
        version: p.t5Version,
        copiedFrom: origin(options.t5),
      },
      {
        dir: MEMBER_DIRS.baseline,
        weight: weights.baseline,
        kind: 'tfidf-logreg',
        version: `tfidf-logreg-${baselineHash.slice(0, 16)}`,
        copiedFrom: origin(options.baseline),
      },
    ],
    trainedOn: {
      file: p.file,
      rows: p.rows,
      holdout: p.splits.holdout,
      validation: p.splits.validation,
      ...(p.limit !== undefined ? { limit: p.limit } : {}),
    },
    fit: {
      split: 'validation',
      rows: rows.length,
      // Identifies exactly which rows the weight was chosen on (their texts, in split order).
      textsSha256: createHash('sha256')
        .update(rows.map((r) => r.text).join('\u0000'))
        .digest('hex'),
      combine: options.combine,
      gridStep: options.gridStep,
      grid: fit.grid.map((g) => ({
        baselineWeight: g.baselineWeight,
        accuracy: Number(f4(g.accuracy)),
      })),
      chosen: { baselineWeight: w, t5Weight: weights.t5 },
      accuracy: Number(f4(fit.chosen.accuracy)),
      t5Accuracy: Number(f4(alone(0).accuracy)),
      baselineAccuracy: Number(f4(alone(1).accuracy)),
      note: 'chosen on these rows, so optimistic; report the held-out side once with `eval --split holdout`',
      createdAt: new Date().toISOString(),
    },
  };
  await writeFile(path.join(staging, 'classifier.json'), JSON.stringify(manifest, null, 2) + '\n');
  if (existsSync(options.out)) await rm(options.out, { recursive: true }); // empty, checked above
  await rename(staging, path.resolve(options.out));

  log('');
  log(
    `T5 alone ${f4(alone(0).accuracy)}, baseline alone ${f4(alone(1).accuracy)}, ensemble ${f4(fit.chosen.accuracy)} (baseline weight ${w.toFixed(2)})`,
  );
  log(intervalLine(fit.correct));
  for (const line of comparisonLines(
    `TF-IDF baseline (${origin(options.baseline)}, trained on the same ${p.rows} rows)`,
    fit.correct,
    baselineCorrect,
  ))
    log(line);
  log(
    `note: the weight was chosen on these ${rows.length} rows, so this figure is optimistic; score the held-out side once: eval --split holdout --model ${options.out}`,
  );
  log(
    `saved ${options.out} (${version}; members copied into ${MEMBER_DIRS.t5} and ${MEMBER_DIRS.baseline})`,
  );
  log(`validation accuracy=${f4(fit.chosen.accuracy)}`);
  return { out: options.out, manifest, fit, rows };
}
