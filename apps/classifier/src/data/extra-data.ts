import { z } from 'zod';
import { LABELS, type Label } from '../labels';
import type { Example } from './formats';
import { readDataset } from './read-dataset';

/**
 * More labelled rows for the training side only (e.g. kaggle-valid-preprocessed.csv's 15,000):
 * the held-out split of the main file is computed before these are added and never changes.
 */
export const extraDataSchema = z.object({
  files: z.array(z.string().min(1)).min(1),
  /** Take only rows of these classes (all three when absent). */
  labels: z.array(z.enum(LABELS)).min(1).optional(),
  /** Drop rows whose body is empty (kaggle-valid's LQ_EDIT rows lost their bodies). */
  dropEmptyBody: z.boolean().default(false),
  /**
   * A word put in front of every extra row's (normalised) text to mark its source, never given at
   * inference. kaggle-valid-preprocessed.csv was stripped of markup and code blocks, which in
   * train.csv are a cue for the class; the marker lets a model learn that in that source a
   * markup-free body says nothing about the class, instead of unlearning the cue for everyone.
   */
  tag: z
    .string()
    .regex(/^[a-z0-9]+$/, 'a tag is one lower-case word of letters and digits')
    .optional(),
});
export type ExtraData = z.infer<typeof extraDataSchema>;
export type ExtraDataInput = z.input<typeof extraDataSchema>;

/** What happened to one extra file's rows; every row is counted exactly once. */
export interface ExtraFileReport {
  readonly file: string;
  readonly rows: number;
  readonly kept: number;
  readonly keptPerClass: Readonly<Record<Label, number>>;
  /** Rows of a class not asked for. */
  readonly droppedLabel: number;
  /** Rows whose file says only HQ/LQ: training needs a class. */
  readonly droppedTwoWay: number;
  readonly droppedEmptyBody: number;
  /** Rows whose normalised text equals a held-out row's: dropped so nothing held out is trained on. */
  readonly overlapHeldOut: number;
  /** Rows whose normalised text equals a training row's (or an earlier extra row's): dropped as duplicates. */
  readonly duplicates: number;
}

/**
 * Duplicates are found on the normalised text every example carries (lower-cased, letters, digits
 * and parentheses, single spaces, stop words removed — see normalize.ts), so spacing or casing
 * differences between files do not hide a copy.
 */
const key = (text: string) => text.trim();

/**
 * Chooses which extra rows to train on: drops other classes, two-way rows, empty bodies when
 * asked, and any row whose text equals a held-out row (counted as `overlapHeldOut`) or one
 * already in the training data (`duplicates`). Rows are kept in file order; with a `tag`, the
 * kept rows' text starts with it (duplicates are found on the untagged text).
 */
export function selectExtraExamples(
  file: string,
  candidates: readonly Example[],
  options: ExtraData,
  base: { train: readonly Example[]; validation: readonly Example[]; seen?: Set<string> },
): { examples: Example[]; report: ExtraFileReport; seen: Set<string> } {
  const heldOut = new Set(base.validation.map((e) => key(e.text)));
  const seen = base.seen ?? new Set(base.train.map((e) => key(e.text)));
  const wanted = new Set<Label>(options.labels ?? LABELS);
  const keptPerClass: Record<Label, number> = { none: 0, low: 0, high: 0 };
  const examples: Example[] = [];
  let droppedLabel = 0;
  let droppedTwoWay = 0;
  let droppedEmptyBody = 0;
  let overlapHeldOut = 0;
  let duplicates = 0;
  for (const example of candidates) {
    if (example.target.kind !== 'class') {
      droppedTwoWay += 1;
      continue;
    }
    if (!wanted.has(example.target.label)) {
      droppedLabel += 1;
      continue;
    }
    if (options.dropEmptyBody && example.emptyBody === true) {
      droppedEmptyBody += 1;
      continue;
    }
    const k = key(example.text);
    if (heldOut.has(k)) {
      overlapHeldOut += 1;
      continue;
    }
    if (seen.has(k)) {
      duplicates += 1;
      continue;
    }
    seen.add(k);
    keptPerClass[example.target.label] += 1;
    examples.push(options.tag ? { ...example, text: `${options.tag} ${example.text}` } : example);
  }
  return {
    examples,
    seen,
    report: {
      file,
      rows: candidates.length,
      kept: examples.length,
      keptPerClass,
      droppedLabel,
      droppedTwoWay,
      droppedEmptyBody,
      overlapHeldOut,
      duplicates,
    },
  };
}

/** Reads every extra file and selects its rows (see selectExtraExamples). */
export async function readExtraExamples(
  input: ExtraDataInput,
  base: { train: readonly Example[]; validation: readonly Example[] },
): Promise<{ examples: Example[]; reports: ExtraFileReport[] }> {
  const options = extraDataSchema.parse(input);
  const examples: Example[] = [];
  const reports: ExtraFileReport[] = [];
  let seen: Set<string> | undefined;
  for (const file of options.files) {
    const dataset = await readDataset(file);
    const selected = selectExtraExamples(file, dataset.examples, options, {
      ...base,
      ...(seen ? { seen } : {}),
    });
    seen = selected.seen;
    examples.push(...selected.examples);
    reports.push(selected.report);
  }
  return { examples, reports };
}

/**
 * The training side with the chosen extra rows appended, as `train` and `baseline` both use it;
 * `log` gets one line per extra file (describeExtra). The held-out side is only read, to drop copies.
 */
export async function trainingSideWithExtra(
  input: ExtraDataInput,
  base: { train: readonly Example[]; validation: readonly Example[] },
  log: (line: string) => void,
): Promise<{ train: Example[]; reports: ExtraFileReport[] }> {
  const extra = await readExtraExamples(input, base);
  for (const report of extra.reports) log(describeExtra(report));
  return { train: [...base.train, ...extra.examples], reports: extra.reports };
}

/** One line per file for logs: how many rows were kept and why the others were not. */
export function describeExtra(report: ExtraFileReport): string {
  const perClass = LABELS.map((l) => `${l} ${report.keptPerClass[l]}`).join(', ');
  return (
    `extra data ${report.file}: ${report.kept} of ${report.rows} rows kept (${perClass}); dropped: ` +
    `${report.droppedLabel} other class, ${report.droppedTwoWay} two-way, ${report.droppedEmptyBody} empty body, ` +
    `${report.overlapHeldOut} same text as a held-out row, ${report.duplicates} duplicates of training rows`
  );
}

/** Parses `--extra-labels high,none`. */
export function parseLabelList(value: string): Label[] {
  const labels = value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
  const bad = labels.filter((l) => !(LABELS as readonly string[]).includes(l));
  if (labels.length === 0 || bad.length > 0) {
    throw new Error(
      `expected a comma-separated list of ${LABELS.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return labels as Label[];
}
