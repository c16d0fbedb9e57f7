import { existsSync } from 'node:fs';
import { Piscina } from 'piscina';
import type { EngineMoveOutcome } from '@conveyor/contracts';
import { ENGINE_GRACE_MS } from '../difficulty';
import { EngineBusyError, EngineTimeoutError, type Engine, type EngineTask } from './engine';

export interface PoolEngineOptions {
  /** The bundled engine-thread.js (see bundles.ts). */
  readonly threadFile: string;
  readonly threads: number;
  /** Searches allowed to wait for a thread before new ones are refused (EngineBusyError). */
  readonly maxQueue?: number;
}

/**
 * Searches run in a worker_threads pool (piscina) sized to the cores, so a search never blocks the
 * HTTP event loop. Each search stops itself at its time/node budget; a search still running
 * ENGINE_GRACE_MS after that is aborted, which terminates its thread (piscina starts a new one).
 */
export class PoolEngine implements Engine {
  readonly kind = 'pool';
  private readonly pool: Piscina<EngineTask, EngineMoveOutcome>;
  private timeouts = 0;
  private rejectedBusy = 0;

  constructor(private readonly options: PoolEngineOptions) {
    if (!existsSync(options.threadFile)) {
      throw new Error(
        `engine thread script ${options.threadFile} is missing: run \`npx nx run checkers:build\``,
      );
    }
    this.pool = new Piscina<EngineTask, EngineMoveOutcome>({
      filename: options.threadFile,
      minThreads: 1,
      maxThreads: options.threads,
      maxQueue: options.maxQueue ?? options.threads * 32,
      idleTimeout: 60_000,
    });
  }

  async chooseMove(task: EngineTask): Promise<EngineMoveOutcome> {
    if (this.pool.queueSize >= this.pool.options.maxQueue) {
      this.rejectedBusy++;
      throw new EngineBusyError(
        `engine busy: ${this.pool.queueSize} searches already waiting for a thread`,
      );
    }
    // The hard limit also covers time spent waiting in the queue, so a request never hangs.
    const limitMs = task.search.timeMs + ENGINE_GRACE_MS + this.pool.queueSize * task.search.timeMs;
    const signal = AbortSignal.timeout(limitMs);
    try {
      return await this.pool.run(task, { signal });
    } catch (error) {
      if (signal.aborted) {
        this.timeouts++;
        throw new EngineTimeoutError(`engine search exceeded ${limitMs} ms and was stopped`);
      }
      throw error;
    }
  }

  async checkReady(): Promise<void> {
    // A pool has no external dependency: it is ready unless it was closed.
    if (this.closed) throw new Error('engine pool is closed');
  }

  private closed = false;

  stats(): Record<string, number | string> {
    return {
      threads: this.pool.threads.length,
      maxThreads: this.pool.maxThreads,
      queued: this.pool.queueSize,
      completed: this.pool.completed,
      utilization: Number(this.pool.utilization.toFixed(3)),
      timeouts: this.timeouts,
      rejectedBusy: this.rejectedBusy,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool.destroy();
  }
}
