/**
 * A small worker_threads pool: tasks go out one at a time to each free thread, results come back
 * in completion order. Worker scripts may be TypeScript: they then run under tsx's loader (the
 * one the parent runs under, or `--import tsx` when the parent is Jest/SWC).
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';

export interface PoolOptions<T, R> {
  /** Absolute path of the worker script; it must call serveTasks(). */
  readonly script: string;
  readonly tasks: readonly T[];
  readonly threads: number;
  /** Passed to every worker once, as workerData. */
  readonly workerData?: unknown;
  readonly onResult: (result: R, task: T) => void;
}

type FromWorker<R> = { kind: 'result'; result: R } | { kind: 'error'; message: string };

function startWorker(script: string, data: unknown, env: NodeJS.ProcessEnv): Worker {
  if (!script.endsWith('.ts')) return new Worker(script, { workerData: data, env });
  // Node 20 workers ignore the parent's --import loader, so a TypeScript script is required
  // through tsx's CommonJS hook from a one-line bootstrap.
  const boot = `require('tsx/cjs/api').register(); require(${JSON.stringify(script)});`;
  return new Worker(boot, { eval: true, workerData: data, env });
}

/** Runs every task on `threads` worker threads; rejects on the first task error, naming the task. */
export async function runPool<T, R>(options: PoolOptions<T, R>): Promise<void> {
  const queue = [...options.tasks];
  const threads = Math.max(1, Math.min(options.threads, queue.length));
  const env = {
    ...process.env,
    TSX_TSCONFIG_PATH: process.env['TSX_TSCONFIG_PATH'] ?? tsconfigPath(),
  };
  const run = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = startWorker(options.script, options.workerData, env);
      let current: T | undefined;
      const next = (): void => {
        current = queue.shift();
        if (current === undefined) {
          void worker.terminate().then(() => resolve());
          return;
        }
        worker.postMessage(current);
      };
      worker.on('message', (msg: FromWorker<R>) => {
        if (msg.kind === 'error') {
          queue.length = 0;
          void worker.terminate();
          reject(new Error(`worker task ${JSON.stringify(current)} failed: ${msg.message}`));
          return;
        }
        options.onResult(msg.result, current as T);
        next();
      });
      worker.on('error', (e) =>
        reject(new Error(`worker ${options.script} crashed: ${e.message}`)),
      );
      worker.on('online', next);
    });
  await Promise.all(Array.from({ length: threads }, run));
}

function tsconfigPath(): string {
  // Path aliases (@conveyor/*) live in the root tsconfig.base.json; tsx looks for tsconfig.json by default.
  return require('node:path').resolve(__dirname, '../../../tsconfig.base.json') as string;
}

/** Inside a worker script: answers every task with handler(task, workerData). */
export function serveTasks<T, R>(handler: (task: T, data: unknown) => R | Promise<R>): void {
  const port = parentPort;
  if (port === null)
    throw new Error('serveTasks() must run inside a worker thread started by runPool()');
  port.on('message', (task: T) => {
    Promise.resolve()
      .then(() => handler(task, workerData))
      .then(
        (result) => port.postMessage({ kind: 'result', result } satisfies FromWorker<R>),
        (e: unknown) =>
          port.postMessage({
            kind: 'error',
            message: e instanceof Error ? (e.stack ?? e.message) : String(e),
          } satisfies FromWorker<R>),
      );
  });
}
