import { existsSync } from 'node:fs';
import { Piscina } from 'piscina';
import type { Logger } from '@conveyor/observability';
import type { EngineMoveOutcome } from '@conveyor/contracts';
import { ENGINE_GRACE_MS } from '../difficulty';
import type { EngineThreadData, ThreadNetworkStatus, WarmUpTask } from './engine-thread';
import { EngineBusyError, EngineTimeoutError, type Engine, type EngineTask } from './engine';

export interface PoolEngineOptions {
  /** The bundled engine-thread.js (see bundles.ts). */
  readonly threadFile: string;
  readonly threads: number;
  /** Searches allowed to wait for a thread before new ones are refused (EngineBusyError). */
  readonly maxQueue?: number;
  /** Model directory for hard's tie-break, handed to each thread (default: the bundled model). */
  readonly modelDir?: string;
}

/**
 * Searches run in a worker_threads pool (piscina) sized to the cores, so a search never blocks the
 * HTTP event loop. Each search stops itself at its time/node budget; a search still running
 * ENGINE_GRACE_MS after that is aborted, which terminates its thread (piscina starts a new one).
 */
export class PoolEngine implements Engine {
  readonly kind = 'pool';
  private readonly pool: Piscina<EngineTask | WarmUpTask, EngineMoveOutcome | ThreadNetworkStatus>;
  private timeouts = 0;
  private rejectedBusy = 0;
  private network: readonly ThreadNetworkStatus[] | Error | undefined;
  private readonly warm: Promise<readonly ThreadNetworkStatus[]>;

  constructor(private readonly options: PoolEngineOptions) {
    if (!existsSync(options.threadFile)) {
      throw new Error(
        `engine thread script ${options.threadFile} is missing: run \`npx nx run checkers:build\``,
      );
    }
    this.pool = new Piscina({
      filename: options.threadFile,
      // Every thread starts (and loads the network) with the pool, not on a request's time.
      minThreads: options.threads,
      maxThreads: options.threads,
      maxQueue: options.maxQueue ?? options.threads * 32,
      idleTimeout: 60_000,
      workerData: { modelDir: options.modelDir } satisfies EngineThreadData,
    });
    // One warm-up task per thread: each waits until its thread has loaded the network.
    this.warm = Promise.all(
      Array.from({ length: options.threads }, async () => {
        const status = await this.pool.run({ warmUp: true });
        if (!('kind' in status) || (status.kind !== 'ready' && status.kind !== 'unavailable'))
          throw new Error('engine thread answered a warm-up with a search result');
        return status;
      }),
    );
    this.warm.then(
      (statuses) => (this.network = statuses),
      (error: unknown) =>
        (this.network = error instanceof Error ? error : new Error(String(error))),
    );
  }

  /**
   * Resolves once every thread has started and loaded its network (or found it unavailable):
   * what each thread reports. Hard requests before this wait for their thread's network.
   */
  ready(): Promise<readonly ThreadNetworkStatus[]> {
    return this.warm;
  }

  async chooseMove(task: EngineTask): Promise<EngineMoveOutcome> {
    // Starting a thread (loading the bundle, TensorFlow.js and the model) is no search: the
    // time limit starts once the threads are up. Servers wait for this before listening anyway.
    await this.warm.catch(() => undefined);
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
      return (await this.pool.run(task, { signal })) as EngineMoveOutcome;
    } catch (error) {
      if (signal.aborted) {
        this.timeouts++;
        throw new EngineTimeoutError(`engine search exceeded ${limitMs} ms and was stopped`);
      }
      throw error;
    }
  }

  async checkReady(): Promise<void> {
    // A pool has no external dependency: it is ready once its threads are up, unless closed.
    if (this.closed) throw new Error('engine pool is closed');
    if (this.network === undefined) throw new Error('engine threads are still starting');
    if (this.network instanceof Error)
      throw new Error(`engine threads failed to start: ${this.network.message}`);
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
      network: describeNetwork(this.network),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool.destroy();
  }
}

/** For /debug/vars: the threads' network, e.g. "wasm (2 threads)" or why there is none. */
function describeNetwork(network: readonly ThreadNetworkStatus[] | Error | undefined): string {
  if (network === undefined) return 'loading';
  if (network instanceof Error) return `failed: ${network.message}`;
  const kinds = new Set(
    network.map((s) => (s.kind === 'ready' ? s.backend : `unavailable: ${s.reason}`)),
  );
  return `${[...kinds].join('; ')} (${network.length} threads)`;
}

/** Logs, once the threads are up, which backend their network runs on — or why hard has none. */
export async function logNetwork(pool: PoolEngine, logger: Logger): Promise<void> {
  await pool.ready().then(
    (statuses) => {
      const missing = statuses.filter((s) => s.kind === 'unavailable');
      if (missing.length === 0)
        logger.info({ network: statuses }, 'engine threads ready; hard uses the neural tie-break');
      else
        logger.warn(
          { network: statuses },
          'engine threads ready WITHOUT the network: hard plays the alpha-beta choice among ties',
        );
    },
    (error: unknown) => logger.error({ err: error }, 'engine threads failed to start'),
  );
}
