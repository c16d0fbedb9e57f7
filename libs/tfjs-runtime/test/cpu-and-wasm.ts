import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src';

/**
 * `run` on the cpu backend, then on wasm, where it must leave no tensor behind: both results, so a
 * replaced wasm kernel can be held to tfjs's reference implementation.
 */
export async function cpuAndWasm<T>(run: () => T): Promise<{ cpu: T; wasm: T }> {
  await initBackend({ candidates: ['cpu'] });
  const cpu = run();
  await initBackend({ candidates: ['wasm'] });
  const before = tf.memory().numTensors;
  const wasm = run();
  expect(tf.memory().numTensors).toBe(before);
  return { cpu, wasm };
}
