// Picks the fastest TensorFlow.js backend available: native GPU, native CPU, WebAssembly, then
// plain JS. The native packages need libtensorflow (downloaded at install), so they are optional
// and loaded with require only if present.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// Gradients are registered here once so every trainer on this runtime can call tf.grad.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { registerWasmBatchMatMul } from './wasm-batch-matmul';
import { registerWasmGather } from './wasm-gather';
import { registerWasmSegmentSum } from './wasm-kernels';

export type BackendChoiceName = 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu';

export const BACKEND_ORDER: readonly BackendChoiceName[] = [
  'tfjs-node-gpu',
  'tfjs-node',
  'wasm',
  'cpu',
];

/** Environment variable that forces or restricts the candidates: a comma list, e.g. "wasm,cpu". */
export const BACKEND_ENV = 'TFJS_BACKEND';

export interface BackendChoice {
  /** What was chosen. */
  name: BackendChoiceName;
  /** The tfjs backend name now active (tfjs-node registers "tensorflow"). */
  tfBackend: string;
  /** Earlier options that were skipped, and why. */
  skipped: { name: BackendChoiceName; reason: string }[];
}

export interface InitBackendOptions {
  /** Restrict and order the candidates, e.g. ['cpu'] in tests. Default: TFJS_BACKEND env, else BACKEND_ORDER. */
  candidates?: readonly BackendChoiceName[];
  /** Receives one human-readable line describing the choice. */
  log?: (message: string) => void;
  /** Prefix of the log line (default "tfjs"), e.g. the calling service's name. */
  label?: string;
  /** Where TFJS_BACKEND is read from (default process.env); tests pass their own. */
  env?: Readonly<Record<string, string | undefined>>;
}

const NATIVE_PACKAGES: Record<'tfjs-node-gpu' | 'tfjs-node', string> = {
  'tfjs-node-gpu': '@tensorflow/tfjs-node-gpu',
  'tfjs-node': '@tensorflow/tfjs-node',
};

function loadNative(pkg: string): void {
  // Optional dependency: a plain require inside try/catch, so a missing package is a skip, not a crash.
  require(pkg);
}

async function tryBackend(name: BackendChoiceName): Promise<string> {
  if (name === 'tfjs-node-gpu' || name === 'tfjs-node') {
    const pkg = NATIVE_PACKAGES[name];
    try {
      loadNative(pkg);
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new Error(
        code === 'MODULE_NOT_FOUND'
          ? `${pkg} is not installed`
          : `${pkg} failed to load: ${(e as Error).message}`,
      );
    }
    if (!(await tf.setBackend('tensorflow')))
      throw new Error(`${pkg} loaded but its "tensorflow" backend did not initialise`);
    return 'tensorflow';
  }
  if (name === 'wasm') {
    registerWasmSegmentSum();
    registerWasmBatchMatMul();
    registerWasmGather();
  }
  if (!(await tf.setBackend(name))) throw new Error(`the ${name} backend did not initialise`);
  return name;
}

/** Parses TFJS_BACKEND; undefined when unset or empty. Throws on unknown names, listing the valid ones. */
export function parseBackendList(raw: string | undefined): BackendChoiceName[] | undefined {
  if (!raw || !raw.trim()) return undefined;
  const names = raw.split(',').map((s) => s.trim()) as BackendChoiceName[];
  for (const n of names) {
    if (!BACKEND_ORDER.includes(n))
      throw new Error(`${BACKEND_ENV}="${raw}": "${n}" is not one of ${BACKEND_ORDER.join(', ')}`);
  }
  return names;
}

/** Activates the first backend that works among the candidates and reports what was skipped and why. */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendChoice> {
  const env = options.env ?? process.env;
  const candidates = options.candidates ?? parseBackendList(env[BACKEND_ENV]) ?? BACKEND_ORDER;
  const label = options.label ?? 'tfjs';
  const skipped: BackendChoice['skipped'] = [];
  for (const name of candidates) {
    try {
      const tfBackend = await tryBackend(name);
      await tf.ready();
      options.log?.(
        `${label}: using TensorFlow.js backend ${name}` +
          (skipped.length
            ? ` (skipped ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})`
            : ''),
      );
      return { name, tfBackend, skipped };
    } catch (e) {
      skipped.push({ name, reason: (e as Error).message });
    }
  }
  throw new Error(
    `no TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}` +
      ` (set ${BACKEND_ENV} to a list of ${BACKEND_ORDER.join(', ')} to choose)`,
  );
}
