import type { TargetSpec } from './session';

/**
 * The workers this repository ships, as the kit starts them (from the repository root): the
 * reference conformance workers of both SDKs; the document-processing example's Python worker
 * (on the Python SDK), which predates the contract and is tested on the checks its one queue can
 * take; and the example's earlier hand-written pika worker, kept as the one implementation
 * written from docs/worker-protocol.md alone, without an SDK.
 */
export const REFERENCE_WORKERS = {
  typescript: {
    name: 'typescript-sdk',
    profile: 'contract',
    command:
      'TSX_TSCONFIG_PATH=tools/conformance/tsconfig.json exec node --import tsx tools/conformance/workers/typescript/worker.ts',
  },
  python: {
    name: 'python-sdk',
    profile: 'contract',
    command:
      'PYTHONPATH=sdks/python/src exec /usr/bin/python3 -m conveyor_worker tools/conformance/workers/python/conformance_worker.py',
  },
  example: {
    name: 'python-example',
    profile: 'extract-fields',
    command: 'exec /usr/bin/python3 examples/document-processing/python/worker.py',
  },
  'hand-written': {
    name: 'python-hand-written',
    profile: 'extract-fields',
    command: 'exec /usr/bin/python3 tools/conformance/workers/hand-written/worker.py',
  },
} as const satisfies Record<string, TargetSpec>;

export type ReferenceWorker = keyof typeof REFERENCE_WORKERS;
