import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BaselineClassifier } from '../baseline/baseline-model';
import type { QualityClassifier } from './prediction';
import { T5QualityClassifier } from './t5-classifier';

/**
 * A model directory holds `classifier.json` (what kind of model, how it was trained, its measured
 * accuracy) next to the weights, so one loader serves both the T5 model and the baseline.
 */
export interface LoadOptions {
  /**
   * Read a T5 model's input with this window instead of the one in its manifest (the encoder's
   * positions are relative, so any window runs; whether it helps is for `eval` to measure).
   */
  window?: { headTokens: number; tailTokens: number };
}

export async function loadClassifier(
  dir: string,
  options: LoadOptions = {},
): Promise<QualityClassifier> {
  const manifestPath = path.join(dir, 'classifier.json');
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (error) {
    throw new Error(
      `cannot load a classifier from ${dir}: ${(error as Error).message}. ` +
        'Point MODEL_DIR / --model at a directory written by `classifier train` or `classifier baseline --save`.',
    );
  }
  const kind = (manifest as { kind?: unknown }).kind;
  switch (kind) {
    case 'tfidf-logreg':
      if (options.window)
        throw new Error(`${dir} holds a TF-IDF baseline, which has no token window to set`);
      return BaselineClassifier.load(dir, manifest);
    case 't5':
      return T5QualityClassifier.load(
        dir,
        options.window ? { ...(manifest as object), ...options.window } : manifest,
      );
    default:
      throw new Error(`${manifestPath}: unknown model kind ${JSON.stringify(kind)}; expected "t5" or "tfidf-logreg"`);
  }
}
