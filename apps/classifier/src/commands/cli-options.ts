import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { parseLabelList, type ExtraDataInput } from '../data/extra-data';
import { SO_QUALITY_DIR } from '../paths';

/** Argument parsers and option groups shared by the `classifier` commands (src/cli.ts). */

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}
export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected an integer ≥ 0, got "${value}"`);
  return n;
}
export function number(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${value}"`);
  return n;
}
export function fraction(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n < 1))
    throw new InvalidArgumentError(`expected a fraction in (0, 1), got "${value}"`);
  return n;
}

function labelList(value: string) {
  try {
    return parseLabelList(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

export const DEFAULT_TRAIN = path.join(SO_QUALITY_DIR, 'train.csv');

/** The same three options on `train` and `baseline`, so both learn from the same rows. */
export function withExtraDataOptions(command: Command): Command {
  return command
    .option(
      '--extra-data <file...>',
      'more labelled CSVs added to the training side only (held-out rows stay as they are; rows with the text of a held-out row are dropped)',
    )
    .option(
      '--extra-labels <labels>',
      'take only these classes from --extra-data, comma-separated (e.g. high,none)',
      labelList,
    )
    .option(
      '--extra-tag <word>',
      'put this word before every --extra-data text to mark its source (never given at inference)',
    )
    .option(
      '--extra-drop-empty-body',
      'drop --extra-data rows whose body is empty (kaggle-valid-preprocessed.csv lost LQ_EDIT bodies)',
      false,
    );
}

export function extraDataFrom(o: Record<string, unknown>): { extra?: ExtraDataInput } {
  const files = o['extraData'] as string[] | undefined;
  if (!files || files.length === 0) {
    if (
      o['extraLabels'] !== undefined ||
      o['extraTag'] !== undefined ||
      o['extraDropEmptyBody'] === true
    )
      throw new Error('--extra-labels, --extra-tag and --extra-drop-empty-body need --extra-data');
    return {};
  }
  const labels = o['extraLabels'] as ExtraDataInput['labels'];
  return {
    extra: {
      files,
      ...(labels ? { labels } : {}),
      ...(o['extraTag'] !== undefined ? { tag: String(o['extraTag']) } : {}),
      dropEmptyBody: Boolean(o['extraDropEmptyBody']),
    },
  };
}
