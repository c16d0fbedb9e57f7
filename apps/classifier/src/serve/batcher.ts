/**
 * Dynamic batching: items from concurrent requests go to the model together, up to
 * `maxBatchSize` per call. A transformer on CPU costs little more per batch than per item at
 * small sizes, so this is what makes throughput scale with concurrency. One batch runs at a time:
 * the model is CPU-bound, and overlapping calls would only interleave on the same cores.
 *
 * When is a batch cut? Items that arrive while the model is busy form the next batch as soon as
 * it is free: they have already waited. A lone item on an idle model waits for company only if
 * traffic is concurrent — the previous batch had more than one item, or items arrived while it
 * ran — and then at most `maxWaitMs`; otherwise it goes to the model at the next turn of the event
 * loop (requests read in the same turn still join it). A sequential client never pays the wait.
 */
export interface BatcherOptions<I, O> {
  maxBatchSize: number;
  maxWaitMs: number;
  /** Items allowed to wait; beyond it submit() rejects with OverloadedError (HTTP 503). */
  maxQueuedItems: number;
  run(inputs: I[]): Promise<O[]>;
  /** Called after every model call, for metrics. */
  onBatch?(info: { size: number; durationMs: number; error?: unknown }): void;
}

export class OverloadedError extends Error {
  override readonly name = 'OverloadedError';
}

interface Pending<I, O> {
  readonly input: I;
  resolve(output: O): void;
  reject(error: unknown): void;
}

export class DynamicBatcher<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** A batch is due at the next turn of the event loop. */
  private immediate: NodeJS.Immediate | undefined;
  /** The last batch had company or saw items arrive while it ran: waiting for more may pay. */
  private concurrent = false;
  private closed = false;
  private batches = 0;
  private items = 0;

  constructor(private readonly options: BatcherOptions<I, O>) {
    if (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1) {
      throw new Error(`maxBatchSize must be an integer ≥ 1, got ${options.maxBatchSize}`);
    }
    if (!(options.maxWaitMs >= 0))
      throw new Error(`maxWaitMs must be ≥ 0, got ${options.maxWaitMs}`);
  }

  /** Items waiting for a model call. */
  get queued(): number {
    return this.queue.length;
  }

  get stats(): { batches: number; items: number; queued: number; running: boolean } {
    return {
      batches: this.batches,
      items: this.items,
      queued: this.queue.length,
      running: this.running,
    };
  }

  /** Resolves with one output per input, in order; the inputs may be split across batches. */
  submit(inputs: readonly I[]): Promise<O[]> {
    if (this.closed) return Promise.reject(new OverloadedError('the classifier is shutting down'));
    if (this.queue.length + inputs.length > this.options.maxQueuedItems) {
      return Promise.reject(
        new OverloadedError(
          `${this.queue.length} items are already waiting for the model (limit ${this.options.maxQueuedItems}); retry later`,
        ),
      );
    }
    const promises = inputs.map(
      (input) => new Promise<O>((resolve, reject) => this.queue.push({ input, resolve, reject })),
    );
    this.schedule();
    return Promise.all(promises);
  }

  /** Stops accepting items; resolves once every queued item has been processed. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.running) {
      if (!this.running) this.flush();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private schedule(): void {
    if (this.running || this.immediate) return; // the running batch's completion schedules the next
    if (this.queue.length >= this.options.maxBatchSize) {
      this.flush();
    } else if (!this.concurrent || this.options.maxWaitMs === 0) {
      this.flushSoon();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.options.maxWaitMs);
    }
  }

  /**
   * Cuts the batch at the next turn of the event loop, after the pending I/O: requests whose bytes
   * arrived meanwhile (e.g. while the model was busy) are parsed and queued first.
   */
  private flushSoon(): void {
    this.immediate ??= setImmediate(() => {
      this.immediate = undefined;
      this.flush();
    });
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.immediate) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
    if (this.running || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.options.maxBatchSize);
    this.running = true;
    const started = performance.now();
    void this.options
      .run(batch.map((p) => p.input))
      .then((outputs) => {
        if (outputs.length !== batch.length) {
          throw new Error(
            `the model returned ${outputs.length} outputs for ${batch.length} inputs`,
          );
        }
        batch.forEach((p, i) => p.resolve(outputs[i] as O));
        this.options.onBatch?.({ size: batch.length, durationMs: performance.now() - started });
      })
      .catch((error: unknown) => {
        batch.forEach((p) => p.reject(error));
        this.options.onBatch?.({
          size: batch.length,
          durationMs: performance.now() - started,
          error,
        });
      })
      .finally(() => {
        this.batches += 1;
        this.items += batch.length;
        this.running = false;
        this.concurrent = batch.length > 1 || this.queue.length > 0;
        // Items that arrived while the model was busy have already waited: they go next.
        if (this.queue.length > 0) this.flushSoon();
      });
  }
}
