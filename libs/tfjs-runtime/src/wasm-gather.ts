// tfjs-backend-wasm 4.22's GatherV2 converts every output element's index through strides in C++
// and checks each index with a closure in JavaScript: measured here, 4–5 ms to look up 512 rows
// of a [4000, 64] embedding table, ~100 ms for the 262,144 [query, key] pairs of a 512-token
// position bias. This kernel copies whole rows on the wasm heap instead (a gather is only row
// copies): float32 and int32 data; other dtypes go to the stock kernel.
import * as tf from '@tensorflow/tfjs-core';
import { replaceWasmKernel } from './replace-wasm-kernel';

/** The parts of the wasm backend this kernel uses (not in its public typings). */
interface WasmHeapBackend {
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } };
  wasm: { HEAP32: Int32Array; HEAPF32: Float32Array };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

let stockGather: tf.KernelFunc | undefined;
let registered = false;

/**
 * out[b, o, i, :] = x[b, o, indices[b, i], :] over the shapes tfjs's gather reduces every call to
 * (batch dims, the dims before the axis, the axis, the dims after it). Exported for tests.
 */
export function gatherRows(
  heap: Float32Array | Int32Array,
  xOffset: number,
  indices: Int32Array,
  outOffset: number,
  shape: { batchSize: number; outerSize: number; dimSize: number; sliceSize: number },
): void {
  const { batchSize, outerSize, dimSize, sliceSize } = shape;
  const perBatch = indices.length / batchSize;
  let out = outOffset;
  for (let b = 0; b < batchSize; b++) {
    for (let o = 0; o < outerSize; o++) {
      const base = xOffset + (b * outerSize + o) * dimSize * sliceSize;
      for (let i = 0; i < perBatch; i++) {
        const from = base + (indices[b * perBatch + i] as number) * sliceSize;
        if (sliceSize > 8) {
          heap.copyWithin(out, from, from + sliceSize);
        } else {
          for (let k = 0; k < sliceSize; k++) heap[out + k] = heap[from + k] as number;
        }
        out += sliceSize;
      }
    }
  }
}

const gather: tf.KernelFunc = (args) => {
  const { inputs, attrs } = args;
  const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  if ((x.dtype !== 'float32' && x.dtype !== 'int32') || indices.dtype !== 'int32') {
    return (stockGather as tf.KernelFunc)(args);
  }
  const backend = args.backend as unknown as WasmHeapBackend;
  const { axis, batchDims } = attrs as unknown as { axis: number; batchDims: number };
  const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0] as number;
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(
    x as tf.Tensor,
    indices as tf.Tensor,
    parsedAxis,
    batchDims,
  );
  const axisDim = x.shape[parsedAxis] as number;
  const size = indices.shape.reduce((n, d) => n * d, 1);
  // Indices are copied out first: allocating the output may grow (and move) the heap.
  const idxStart = backend.dataIdMap.get(indices.dataId).memoryOffset / 4;
  const ids = backend.wasm.HEAP32.slice(idxStart, idxStart + size);
  for (const index of ids) {
    if (index < 0 || index > axisDim - 1) {
      throw new Error(`GatherV2: the index value ${index} is not in [0, ${axisDim - 1}]`);
    }
  }
  const out = backend.makeOutput(info.outputShape, x.dtype);
  if (tf.util.sizeFromShape(x.shape) === 0 || size === 0) return out;
  const heap = x.dtype === 'float32' ? backend.wasm.HEAPF32 : backend.wasm.HEAP32;
  gatherRows(
    heap,
    backend.dataIdMap.get(x.dataId).memoryOffset / 4,
    ids,
    backend.dataIdMap.get(out.dataId).memoryOffset / 4,
    info,
  );
  return out;
};

/**
 * Replaces the wasm backend's GatherV2 with row copies on the wasm heap (see above). Call after
 * the wasm backend is registered and before it is used; idempotent.
 */
export function registerWasmGather(): void {
  if (registered) return;
  registered = replaceWasmKernel(tf.GatherV2, (stock) => {
    stockGather = stock.kernelFunc;
    return { setupFunc: stock.setupFunc, kernelFunc: gather };
  });
}
