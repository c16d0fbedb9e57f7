import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import type { Logger } from 'pino';

/**
 * Copies SQLite's write-ahead log back into the database file from a worker thread.
 *
 * Why: with SQLite's automatic checkpoints, every ~1,000 WAL pages one unlucky commit copies the
 * log into the database and fsyncs both files — several milliseconds on the event loop, inside a
 * step's result transaction (in the chain benchmark, checkpoints doubled the mean COMMIT time,
 * 70 → 146 µs). A PASSIVE checkpoint on a second connection runs beside the writer without
 * blocking it, so the main connection turns automatic checkpoints off while this thread runs.
 * If the thread dies, automatic checkpoints come back on, so the log cannot grow without bound.
 */
export interface WalCheckpointer {
  /** What the thread has done so far (for /debug/vars and tests). */
  stats(): CheckpointStats;
  /** Stops the thread; the main connection checkpoints on close as SQLite always does. */
  stop(): Promise<void>;
}

export interface CheckpointStats {
  readonly running: boolean;
  readonly checkpoints: number;
  /** WAL frames copied into the database file by the thread. */
  readonly framesCheckpointed: number;
  /** Checkpoints that could not copy everything because a reader held an older snapshot. */
  readonly busy: number;
  readonly lastError?: string;
}

/** What the thread posts back (THREAD_SOURCE below). */
type ThreadMessage =
  | { readonly kind: 'checkpoint'; readonly busy: number; readonly copied: number }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'stopped' };

/** SQLite's default `wal_autocheckpoint`, restored if the thread stops unexpectedly. */
const DEFAULT_AUTOCHECKPOINT = 1000;

// Plain JavaScript evaluated in the thread: no TypeScript loader is needed there, whatever runs
// the main thread (node, tsx, jest).
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
let stopped = false;
parentPort.on('message', (m) => { if (m === 'stop') stopped = true; });
function tick() {
  if (stopped) { db.close(); parentPort.postMessage({ kind: 'stopped' }); return; }
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ kind: 'checkpoint', busy: row.busy, copied: row.checkpointed });
  } catch (error) {
    parentPort.postMessage({ kind: 'error', message: String(error && error.message || error) });
  }
  setTimeout(tick, workerData.intervalMs);
}
setTimeout(tick, workerData.intervalMs);
`;

export function startWalCheckpointer(
  sqlite: BetterSqlite3.Database,
  file: string,
  options: {
    intervalMs?: number;
    logger?: Logger;
    /** Module the thread opens the database with (tests point it elsewhere to make it fail). */
    driver?: string;
  } = {},
): WalCheckpointer {
  const intervalMs = options.intervalMs ?? 250;
  let checkpoints = 0;
  let framesCheckpointed = 0;
  let busy = 0;
  let lastError: string | undefined;
  let running = true;
  // Frames already counted: a PASSIVE checkpoint reports the whole log since the last reset.
  let counted = 0;

  sqlite.pragma('wal_autocheckpoint = 0');
  const worker = new Worker(THREAD_SOURCE, {
    eval: true,
    workerData: { file, intervalMs, driver: options.driver ?? require.resolve('better-sqlite3') },
  });
  // The orchestrator's process must be able to exit while the thread waits for its next tick.
  worker.unref();
  const stopped = new Promise<void>((resolve) => {
    worker.on('message', (m: ThreadMessage) => {
      switch (m.kind) {
        case 'checkpoint':
          checkpoints++;
          // The log restarts from frame 0 once fully copied and a writer begins anew.
          framesCheckpointed += m.copied >= counted ? m.copied - counted : m.copied;
          counted = m.copied;
          if (m.busy) busy++;
          break;
        case 'error':
          lastError = m.message;
          options.logger?.warn({ error: m.message }, 'WAL checkpoint failed; will retry');
          break;
        case 'stopped':
          resolve();
          break;
      }
    });
    worker.on('error', (error) => {
      lastError = error.message;
      options.logger?.error({ err: error }, 'WAL checkpoint thread failed');
    });
    worker.on('exit', () => {
      if (running) {
        running = false;
        // Unexpected: hand checkpoints back to SQLite so the log stays bounded.
        try {
          sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`);
        } catch {
          // The connection is already closed: nothing left to bound.
        }
        options.logger?.warn('WAL checkpoint thread exited; automatic checkpoints are back on');
      }
      resolve();
    });
  });

  return {
    stats: () => ({
      running,
      checkpoints,
      framesCheckpointed,
      busy,
      ...(lastError !== undefined ? { lastError } : {}),
    }),
    async stop() {
      if (!running) return;
      running = false;
      worker.postMessage('stop');
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 2000).unref())]);
      await worker.terminate();
    },
  };
}
