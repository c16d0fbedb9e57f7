/** @conveyor/tfjs-runtime: the shared TensorFlow.js start-up (backend choice, missing wasm kernels). */
export type { BackendChoice, BackendChoiceName, InitBackendOptions } from './backend';
export { BACKEND_ORDER, BACKEND_ENV, initBackend, parseBackendList } from './backend';
export { registerWasmSegmentSum, unsortedSegmentSumValues } from './wasm-kernels';
export { registerWasmBatchMatMul, useXnnpackBatchMatMul } from './wasm-batch-matmul';
export { registerWasmGather } from './wasm-gather';
