// The kernels here replace one of tfjs-backend-wasm's own and hand the cases they do not take
// (other dtypes, shapes) back to it, so the stock kernel is kept when it is unregistered.
import * as tf from '@tensorflow/tfjs-core';

/**
 * Replaces the wasm backend's `kernelName` kernel with what `replacement` makes of the stock one.
 * Returns false, changing nothing, when wasm has no such kernel (its backend not registered yet).
 */
export function replaceWasmKernel(
  kernelName: string,
  replacement: (stock: tf.KernelConfig) => Pick<tf.KernelConfig, 'kernelFunc' | 'setupFunc'>,
): boolean {
  const stock = tf.getKernel(kernelName, 'wasm');
  if (!stock) return false;
  const { kernelFunc, setupFunc } = replacement(stock);
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({
    kernelName,
    backendName: 'wasm',
    ...(setupFunc ? { setupFunc } : {}),
    kernelFunc,
  });
  return true;
}
