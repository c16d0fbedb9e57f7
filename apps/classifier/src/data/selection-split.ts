import { holdoutSchema, type Holdout } from './holdout';
import type { Example } from './formats';
import { splitHoldout } from './split';

/**
 * The split models are *selected* on, carved out of the training side of the held-out split:
 * `fraction` of each class of the training side, chosen by a hash of (`seed`, text) as the
 * held-out split is. It never shares a row with the held-out side (it is taken from its
 * complement), is never trained on, and does not depend on row order, so every run and machine
 * selects on the same rows. On train.csv with the defaults: 6,750 rows → 675 held out (seed 42,
 * 10 %) → of the other 6,075, 675 for validation (seed 2026, 225 per class) and 5,400 for training.
 */
export const validationSchema = holdoutSchema;
export type ValidationSplit = Holdout;
export const DEFAULT_VALIDATION: ValidationSplit = { fraction: 0.1111, seed: 2026 };

export interface SelectionSplits {
  /** Rows a model may learn from. */
  readonly train: Example[];
  /** Rows a model is chosen on (checkpoints, options, candidates). */
  readonly validation: Example[];
  /** Rows reported once per shipped model; nothing is chosen on them. */
  readonly heldOut: Example[];
}

export function selectionSplits(
  examples: readonly Example[],
  holdout: Holdout,
  validation: ValidationSplit,
): SelectionSplits {
  const outer = splitHoldout(examples, holdout);
  const inner = splitHoldout(outer.train, validation);
  return { train: inner.train, validation: inner.validation, heldOut: outer.validation };
}
