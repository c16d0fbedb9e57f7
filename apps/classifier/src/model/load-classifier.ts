import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BaselineClassifier } from '../baseline/baseline-model';
import type { QualityClassifier } from './prediction';
import { T5QualityClassifier } from './t5-classifier';

/**
 * A model directory holds `classifier.json` (what kind of model, how it was trained, its measured
 * accuracy) next to the weights, so one loader serves both the T5 model and the baseline.
 */
export async function loadClassifier(dir: string): Promise<QualityClassifier> {
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
      return BaselineClassifier.load(dir, manifest);
    case 't5':
      return T5QualityClassifier.load(dir, manifest);
    default:
      throw new Error(`${manifestPath}: unknown model kind ${JSON.stringify(kind)}; expected "t5" or "tfidf-logreg"`);
  }
}
