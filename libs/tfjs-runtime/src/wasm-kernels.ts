// tfjs-backend-wasm 4.22 has no UnsortedSegmentSum kernel, and tf.gather's gradient (embedding
// tables) is built on it, so training on wasm fails without this. The reduction is a
// scatter-add over rows, done in JS on the wasm heap's data.
import * as tf from '@tensorflow/tfjs-core';

interface WasmLikeBackend {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: tf.backend_util.BackendValues,
  ): tf.TensorInfo;
}

/** out[s, ...] = sum of x[i, ...] over i with segmentIds[i] == s; ids outside [0, numSegments) are dropped, as in TF. */
export function unsortedSegmentSumValues(
  x: Float32Array | Int32Array,
  segmentIds: ArrayLike<number>,
  numSegments: number,
  rowSize: number,
  dtype: 'float32' | 'int32',
): Float32Array | Int32Array {
  const out =
    dtype === 'int32'
      ? new Int32Array(numSegments * rowSize)
      : new Float32Array(numSegments * rowSize);
  for (let i = 0; i < segmentIds.length; i++) {
    const s = segmentIds[i] as number;
    if (s < 0 || s >= numSegments) continue;
    const src = i * rowSize;
    const dst = s * rowSize;
    for (let j = 0; j < rowSize; j++)
      out[dst + j] = (out[dst + j] as number) + (x[src + j] as number);
  }
  return out;
}

let registered = false;

/** Registers UnsortedSegmentSum for the wasm backend once; a no-op if wasm already provides one. */
export function registerWasmSegmentSum(): void {
  if (registered || tf.getKernel(tf.UnsortedSegmentSum, 'wasm')) {
    registered = true;
    return;
  }
  tf.registerKernel({
    kernelName: tf.UnsortedSegmentSum,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const { numSegments } = attrs as unknown as { numSegments: number };
      if (x.dtype !== 'float32' && x.dtype !== 'int32') {
        throw new Error(
          `UnsortedSegmentSum on wasm supports float32 and int32, got ${x.dtype}; cast the input first`,
        );
      }
      const b = backend as unknown as WasmLikeBackend;
      const idsRank = segmentIds.shape.length;
      const rowShape = x.shape.slice(idsRank);
      const rowSize = rowShape.reduce((a, c) => a * c, 1);
      const values = unsortedSegmentSumValues(
        b.readSync(x.dataId) as Float32Array | Int32Array,
        b.readSync(segmentIds.dataId) as Int32Array,
        numSegments,
        rowSize,
        x.dtype,
      );
      return b.makeOutput([numSegments, ...rowShape], x.dtype, undefined, values);
    },
  });
  registered = true;
}
