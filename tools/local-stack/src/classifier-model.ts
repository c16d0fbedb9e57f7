import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface ClassifierModelChoice {
  /** MODEL_DIR for the classifier; undefined keeps its own default (the shipped default model). */
  readonly dir: string | undefined;
  /** Said in the banner when the launcher chose something the user did not ask for. */
  readonly note?: string;
}

/**
 * The classifier's model for local mode: MODEL_DIR when given; else the shipped default model
 * (apps/classifier/model); else, in a checkout without it, the shipped TF-IDF baseline
 * (apps/classifier/model-baseline), so `npm start` still classifies and says so.
 */
export function chooseClassifierModel(
  root: string,
  modelDir: string | undefined,
): ClassifierModelChoice {
  if (modelDir) return { dir: resolve(modelDir) };
  const shipped = join(root, 'apps', 'classifier', 'model');
  if (existsSync(join(shipped, 'classifier.json'))) return { dir: undefined };
  const baseline = join(root, 'apps', 'classifier', 'model-baseline');
  if (existsSync(join(baseline, 'classifier.json'))) {
    return {
      dir: baseline,
      note: `the default model is not in this checkout (${shipped}); the classifier serves the TF-IDF baseline from ${baseline} (set MODEL_DIR to choose)`,
    };
  }
  return { dir: undefined };
}
