import { z } from 'zod';
import type { Example } from './formats';
import { splitHoldout } from './split';

/**
 * The validation split of train.csv every model here is measured on: 10 % per class, chosen by
 * hash with seed 42. Models record the split they held out in their manifest, and `eval
 * --holdout` re-creates exactly that split, so training rows are never counted as validation.
 */
export const holdoutSchema = z.object({ fraction: z.number().gt(0).lt(1), seed: z.number().int() });
export type Holdout = z.infer<typeof holdoutSchema>;
export const DEFAULT_HOLDOUT: Holdout = { fraction: 0.1, seed: 42 };

export function holdoutSide(
  examples: readonly Example[],
  holdout: Holdout,
  side: 'train' | 'validation',
): Example[] {
  return splitHoldout(examples, holdout)[side];
}
