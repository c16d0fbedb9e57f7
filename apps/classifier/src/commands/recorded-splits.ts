import path from 'node:path';
import { DEFAULT_HOLDOUT, holdoutSchema, type Holdout } from '../data/holdout';
import { validationSchema, type ValidationSplit } from '../data/selection-split';
import type { QualityClassifier } from '../model/prediction';

/**
 * The splits a model directory says it was trained with. A recorded `trainedOn.validation` means
 * the model kept those rows out of training (train does; baseline --exclude-validation does);
 * without it, any row outside the held-out side may have been trained on.
 */
export interface Splits {
  holdout: Holdout;
  validation?: ValidationSplit;
  /** File name (no directory) of the data the model was trained on. */
  file?: string;
}

/** `trainedOn` of a manifest → its splits, defaults where silent. */
export function splitsFrom(trainedOnJson: unknown): Splits {
  const trainedOn = (trainedOnJson ?? {}) as Record<string, unknown>;
  const holdout = holdoutSchema.safeParse(trainedOn['holdout']);
  const validation = validationSchema.safeParse(trainedOn['validation']);
  return {
    holdout: holdout.success ? holdout.data : DEFAULT_HOLDOUT,
    ...(validation.success ? { validation: validation.data } : {}),
    ...(typeof trainedOn['file'] === 'string' ? { file: path.basename(trainedOn['file']) } : {}),
  };
}

export function recordedSplits(model: QualityClassifier): Splits {
  return splitsFrom(model.description['trainedOn']);
}

export const sameSplit = (a: Holdout | undefined, b: Holdout | undefined) =>
  a !== undefined && b !== undefined && a.fraction === b.fraction && a.seed === b.seed;

/**
 * The validation split a model kept out of training, or an error saying why nothing may be chosen
 * on it for this model (`eval --split validation` and `ensemble` both refuse such a model).
 * `remedy` finishes the message with what the user can do instead.
 */
export function requireValidationSplit(
  modelDir: string,
  splits: Splits,
  remedy: string,
): ValidationSplit {
  if (!splits.validation)
    throw new Error(
      `${modelDir} records no validation split (trainedOn.validation): it was trained before selection moved off the held-out rows, so every row outside the held-out side may have been trained on. ${remedy}`,
    );
  return splits.validation;
}
