import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendChoiceName } from '@conveyor/tfjs-runtime';
import type { T5Config } from '../src/config';

export const WORKSPACE_ROOT = path.resolve(__dirname, '../../..');
export const SHARED_DIR = path.resolve(WORKSPACE_ROOT, '../shared');
export const T5_TOKENIZER_DIR = path.join(SHARED_DIR, 'fixtures/t5-tokenizer');

export async function useBackend(name: BackendChoiceName): Promise<void> {
  const choice = await initBackend({ candidates: [name] });
  expect(tf.getBackend()).toBe(choice.tfBackend);
}

/** Small enough for fast tests, big enough to exercise every code path (2 layers, several heads and buckets). */
export const TINY: Partial<T5Config> = {
  vocabSize: 40,
  dModel: 16,
  dKv: 4,
  dFf: 32,
  numLayers: 2,
  numHeads: 4,
  relativeAttentionNumBuckets: 8,
  relativeAttentionMaxDistance: 16,
  dropoutRate: 0,
};

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Narrows an optional value, failing the test with a message when it is missing. */
export function must<T>(value: T | undefined | null, what = 'value'): T {
  if (value === undefined || value === null) throw new Error(`expected ${what} to be present`);
  return value;
}
