import path from 'node:path';

/** The repository root, found from this file so commands work from any working directory. */
export const WORKSPACE_ROOT = path.resolve(__dirname, '../../..');

/** The read-only data shared with the project (see ../shared/README.md), never copied into the repo. */
export const SHARED_DIR = path.resolve(WORKSPACE_ROOT, '../shared');
export const SO_QUALITY_DIR = path.join(SHARED_DIR, 'datasets/so-quality');
export const T5_TOKENIZER_DIR = path.join(SHARED_DIR, 'fixtures/t5-tokenizer');

/**
 * The model shipped in the repository, used by the service and `eval` unless told otherwise: an
 * ensemble (word TF-IDF + structural tokens) since it measured best on the validation split.
 */
export const SHIPPED_MODEL_DIR = path.resolve(__dirname, '../model');
/** The shipped T5 on its own (the one issue 21 started from; what the T5 benchmark measures). */
export const SHIPPED_T5_DIR = path.resolve(__dirname, '../model-t5');
/** The shipped TF-IDF baseline, scored beside every evaluation on the same rows. */
export const SHIPPED_BASELINE_DIR = path.resolve(__dirname, '../model-baseline');
