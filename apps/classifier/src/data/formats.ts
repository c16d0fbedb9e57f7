import { labelFromDataset, type Label, type Quality } from '../labels';
import { normalizeText, questionText } from './normalize';

/** The CSV layouts we read, recognised by their header row. */
export type DatasetFormat =
  /** The original Kaggle files users bring: raw titles and HTML bodies, Y = HQ / LQ_EDIT / LQ_CLOSE. */
  | 'kaggle-raw'
  /** shared/so-quality/train.csv: one preprocessed `text` column (title then body), `rating`. */
  | 'preprocessed-text'
  /** shared/so-quality/kaggle-valid-preprocessed.csv: separate preprocessed title and body. */
  | 'kaggle-valid-preprocessed';

const REQUIRED_COLUMNS: Readonly<Record<DatasetFormat, readonly string[]>> = {
  'kaggle-raw': ['Id', 'Title', 'Body', 'Y'],
  'preprocessed-text': ['text', 'rating'],
  'kaggle-valid-preprocessed': ['Id', 'Y', 'body_text', 'title_text'],
};

/** What a row says about the truth: a class, or only high-vs-low quality (raw-sample.csv). */
export type Target = { kind: 'class'; label: Label } | { kind: 'quality'; quality: Quality };

export interface Example {
  /** The question id when the file has one, else `line:<n>`. */
  readonly id: string;
  /** Normalised text (see normalize.ts), title first. */
  readonly text: string;
  readonly target: Target;
  /** 1-based line in the file where the record starts, for error messages. */
  readonly line: number;
  /**
   * True when the file gives the title and body separately and the body normalises to nothing.
   * kaggle-valid-preprocessed.csv lost the body of almost every LQ_EDIT row in its preprocessing,
   * so training on such rows would teach "empty body => low"; `--extra-drop-empty-body` uses this.
   * Absent for train.csv's single text column, where title and body cannot be told apart.
   */
  readonly emptyBody?: boolean;
}

export class DatasetError extends Error {
  override readonly name = 'DatasetError';
}

export function detectFormat(header: readonly string[], file: string): DatasetFormat {
  const columns = new Set(header.map((column) => column.trim()));
  for (const format of Object.keys(REQUIRED_COLUMNS) as DatasetFormat[]) {
    if (REQUIRED_COLUMNS[format].every((column) => columns.has(column))) return format;
  }
  const known = Object.entries(REQUIRED_COLUMNS)
    .map(([format, cols]) => `${format} (${cols.join(',')})`)
    .join('; ');
  throw new DatasetError(
    `${file}:1: unknown CSV format with columns ${JSON.stringify(header)}; expected one of: ${known}`,
  );
}

function targetOf(raw: string | undefined, file: string, line: number): Target {
  const value = (raw ?? '').trim();
  const label = labelFromDataset(value);
  if (label) return { kind: 'class', label };
  // raw-sample.csv collapses LQ_EDIT and LQ_CLOSE into LQ: we keep that as a two-way truth
  // rather than guessing a class, and evaluation scores it two-way.
  if (value === 'LQ') return { kind: 'quality', quality: 'LQ' };
  throw new DatasetError(
    `${file}:${line}: unknown label ${JSON.stringify(value)}; expected HQ, LQ_EDIT, LQ_CLOSE (or LQ for two-way files)`,
  );
}

/** Turns one parsed record into an example; `line` is where the record starts in the file. */
export function exampleFromRecord(
  format: DatasetFormat,
  record: Readonly<Record<string, string | undefined>>,
  file: string,
  line: number,
): Example {
  switch (format) {
    case 'kaggle-raw':
      return {
        id: record['Id'] ?? `line:${line}`,
        text: questionText(record['Title'] ?? '', record['Body'] ?? '', 'html'),
        target: targetOf(record['Y'], file, line),
        line,
        emptyBody: questionText('', record['Body'] ?? '', 'html') === '',
      };
    case 'preprocessed-text':
      return {
        id: `line:${line}`,
        text: normalizeText(record['text'] ?? ''),
        target: targetOf(record['rating'], file, line),
        line,
      };
    case 'kaggle-valid-preprocessed':
      return {
        id: record['Id'] ?? `line:${line}`,
        text: questionText(record['title_text'] ?? '', record['body_text'] ?? '', 'text'),
        target: targetOf(record['Y'], file, line),
        line,
        emptyBody: questionText('', record['body_text'] ?? '', 'text') === '',
      };
  }
}
