// tfjs-backend-wasm 4.22 hands a matrix product to XNNPACK only in the plain case — batch 1,
// neither operand transposed. A transposed operand or a batch > 1 (every attention product, and
// most of tf.matMul's gradient) runs a naive loop instead: measured here in CPU time,
// x[4096,64]·w[256,64]ᵀ 122 ms vs 17 ms with the transpose done first, and 32 batched
// [256,256]·[256,32] products at ~1 GFLOPS vs 10–17 GFLOPS for plain 2-D ones. Splitting a batch
// with tf.unstack does not help: the wasm Slice kernel copies the whole input for every slice.
//
// This kernel replaces BatchMatMul on wasm: transposed operands are materialised with the wasm
// Transpose kernel (O(n)), and each batch entry is multiplied in place — a tensor id is
// registered on the wasm side for each sub-matrix's address (no copy) and the stock kernel runs
// its fast batch-1 path on it. Broadcast batch dimensions fall back to the stock kernel.
import * as tf from '@tensorflow/tfjs-core';
import { replaceWasmKernel } from './replace-wasm-kernel';

/** The parts of the wasm backend this kernel uses (not in its public typings). */
interface WasmBackendInternals {
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: tf.DataId): { id: number; memoryOffset: number } };
  wasm: {
    cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
    tfjs: {
      registerTensor(id: number, size: number, memoryOffset: number): void;
      disposeData(id: number): void;
    };
  };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
}

let stockBatchMatMul: tf.KernelFunc | undefined;
let wasmBatchMatMul: ((...args: unknown[]) => void) | undefined;
let registered = false;
let enabled = true;

/**
 * Switches between this kernel (true, the default once registered) and the stock one (false) at
 * run time, so benchmarks can measure both in one process.
 */
export function useXnnpackBatchMatMul(on: boolean): void {
  enabled = on;
}

function shapeBytes(shape: readonly number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}

/** Runs a registered kernel of the wasm backend directly (inside another kernel). */
function runWasmKernel(
  name: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap,
  backend: unknown,
): tf.TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`the wasm backend has no ${name} kernel`);
  return kernel.kernelFunc({
    inputs,
    attrs,
    backend: backend as tf.KernelBackend,
  }) as tf.TensorInfo;
}

/** [batch, rows, cols] → [batch, cols, rows] as a new tensor. */
function transposed3d(x: tf.TensorInfo, backend: unknown): tf.TensorInfo {
  return runWasmKernel('Transpose', { x }, { perm: [0, 2, 1] }, backend);
}

function reshaped(x: tf.TensorInfo, shape: number[], backend: unknown): tf.TensorInfo {
  return runWasmKernel('Reshape', { x }, { shape }, backend);
}

const batchMatMul: tf.KernelFunc = (args) => {
  const { inputs, attrs } = args;
  const backend = args.backend as unknown as WasmBackendInternals;
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as {
    transposeA: boolean;
    transposeB: boolean;
  };
  const batchA = a.shape.slice(0, -2).reduce((n, d) => n * d, 1);
  const batchB = b.shape.slice(0, -2).reduce((n, d) => n * d, 1);
  const plain = !transposeA && !transposeB && batchA === 1 && batchB === 1;
  if (
    !enabled ||
    plain ||
    batchA !== batchB ||
    a.shape.length !== b.shape.length ||
    a.dtype !== 'float32' ||
    b.dtype !== 'float32' ||
    !wasmBatchMatMul
  ) {
    return (stockBatchMatMul as tf.KernelFunc)(args);
  }
  const rank = a.shape.length;
  const rowsA = a.shape[rank - 2] as number;
  const colsA = a.shape[rank - 1] as number;
  const rowsB = b.shape[rank - 2] as number;
  const colsB = b.shape[rank - 1] as number;
  const temporaries: tf.TensorInfo[] = [];
  let a3 = reshaped(a, [batchA, rowsA, colsA], args.backend);
  let b3 = reshaped(b, [batchB, rowsB, colsB], args.backend);
  temporaries.push(a3, b3);
  if (transposeA) {
    a3 = transposed3d(a3, args.backend);
    temporaries.push(a3);
  }
  if (transposeB) {
    b3 = transposed3d(b3, args.backend);
    temporaries.push(b3);
  }
  const [m, k] = a3.shape.slice(1) as [number, number];
  const [k2, n] = b3.shape.slice(1) as [number, number];
  if (k !== k2) {
    temporaries.forEach((t) => backend.disposeData(t.dataId));
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${k2}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const out = backend.makeOutput([batchA, m, n], 'float32');
  const aOffset = backend.dataIdMap.get(a3.dataId).memoryOffset;
  const bOffset = backend.dataIdMap.get(b3.dataId).memoryOffset;
  const outOffset = backend.dataIdMap.get(out.dataId).memoryOffset;
  const aShape = shapeBytes([1, m, k]);
  const bShape = shapeBytes([1, k, n]);
  for (let i = 0; i < batchA; i++) {
    // Views: wasm-side tensor ids over the i-th sub-matrices; registering copies nothing, and
    // disposing them on the wasm side only forgets the id (the memory belongs to a3/b3/out).
    const aId = backend.dataIdNextNumber++;
    const bId = backend.dataIdNextNumber++;
    const outId = backend.dataIdNextNumber++;
    backend.wasm.tfjs.registerTensor(aId, m * k, aOffset + i * m * k * 4);
    backend.wasm.tfjs.registerTensor(bId, k * n, bOffset + i * k * n * 4);
    backend.wasm.tfjs.registerTensor(outId, m * n, outOffset + i * m * n * 4);
    wasmBatchMatMul(aId, aShape, 3, bId, bShape, 3, false, false, outId);
    backend.wasm.tfjs.disposeData(aId);
    backend.wasm.tfjs.disposeData(bId);
    backend.wasm.tfjs.disposeData(outId);
  }
  temporaries.forEach((t) => backend.disposeData(t.dataId));
  const outShape = [...a.shape.slice(0, -2), m, n];
  return { dataId: out.dataId, shape: outShape, dtype: 'float32' };
};

/**
 * Replaces the wasm backend's BatchMatMul with one that keeps every product on XNNPACK's fast
 * path (see above). Call after the wasm backend is registered and before it is used; idempotent.
 */
export function registerWasmBatchMatMul(): void {
  if (registered) return;
  registered = replaceWasmKernel(tf.BatchMatMul, (stock) => {
    stockBatchMatMul = stock.kernelFunc;
    return {
      setupFunc: (backend) => {
        stock.setupFunc?.(backend);
        const wasm = (backend as unknown as WasmBackendInternals).wasm;
        wasmBatchMatMul = wasm.cwrap(tf.BatchMatMul, null, [
          'number',
          'array',
          'number',
          'number',
          'array',
          'number',
          'number',
          'number',
          'number',
        ]);
      },
      kernelFunc: batchMatMul,
    };
  });
}
