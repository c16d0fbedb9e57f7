import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BaselineClassifier } from '../baseline/baseline-model';
import { EnsembleClassifier } from './ensemble-classifier';
import type { QualityClassifier } from './prediction';
import { T5QualityClassifier } from './t5-classifier';

/**
 * A model directory holds `classifier.json` (what kind of model, how it was trained, its measured
 * accuracy) next to the weights, so one loader serves the T5 model, the baseline and an ensemble
 * of them (whose members are model directories loaded by this same function).
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
        'Point MODEL_DIR / --model at a directory written by `classifier train`, `classifier baseline --save` or `classifier ensemble`.',
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
    case 'ensemble':
      if (options.window)
        throw new Error(
          `${dir} holds an ensemble; set a T5 member's window in that member's classifier.json`,
        );
      return EnsembleClassifier.load(dir, manifest, (member) => loadClassifier(member));
    default:
      throw new Error(
        `${manifestPath}: unknown model kind ${JSON.stringify(kind)}; expected "t5", "tfidf-logreg" or "ensemble"`,
      );
  }
}
