import type { z } from 'zod';
import { FatalStepError } from './errors';
import type { StepContext } from './worker';

/**
 * What a batch handler says about one item: its output, or why it failed. A failed item fails
 * only its own step attempt (retryable or fatal by the same rules as a thrown error in a
 * single-item handler: `StepFailure` decides, anything else is retryable `UNHANDLED`).
 */
export type ItemOutcome<O> =
  | { readonly status: 'succeeded'; readonly output: O }
  | { readonly status: 'failed'; readonly error: unknown };

/** What a batch handler gets besides its items. */
export interface BatchContext {
  /** Aborted when the worker is shutting down past its grace period. */
  readonly signal: AbortSignal;
}

/**
 * A handler that receives the requests of one queue in batches (protocol §9): step requests of
 * any runs that arrive within `maxWaitMs` of the first one, up to `maxBatchSize`, reach
 * `handleBatch` together. Each item keeps its own task id, attempt, heartbeat, result, retry
 * decision and chain; its delivery is acknowledged only after its own result is confirmed.
 */
export interface BatchStepHandlerDefinition<I, O> {
  readonly kind: 'batch';
  /** The worker queue: the `queue` the workflow YAML names for the step. */
  readonly queue: string;
  /** Most items in one `handleBatch` call (≥ 1). */
  readonly maxBatchSize: number;
  /**
   * How long the first item of a batch waits for more (ms, ≥ 0). A full batch starts at once; a
   * batch also starts when a handler slot frees up and its first item has waited this long.
   */
  readonly maxWaitMs: number;
  /** `handleBatch` calls running at once in this process. Default 1 (one model, one device). */
  readonly concurrency?: number;
  /**
   * Unacknowledged requests this process holds (AMQP prefetch). Default
   * `maxBatchSize × (concurrency + 1)`: a full batch gathers while the running ones finish.
   */
  readonly prefetch?: number;
  /** Validates each item's input; a mismatch fails that item only (fatal INVALID_INPUT). */
  readonly input?: z.ZodType<I>;
  /** Validates each item's output; a mismatch fails that item only (fatal INVALID_OUTPUT). */
  readonly output?: z.ZodType<O>;
  /** Sends a heartbeat for every item this often while it waits or runs (off by default). */
  readonly heartbeatIntervalMs?: number;
  /**
   * Returns one outcome per item, in the order of `items`. Throwing fails every item of the
   * batch with that error (each with its own result).
   */
  handleBatch(
    items: readonly StepContext<I>[],
    batch: BatchContext,
  ): Promise<readonly ItemOutcome<O>[]>;
}

/** Identity helper that keeps the input/output types and marks the definition as a batch one. */
export function defineBatchStepHandler<I = unknown, O = unknown>(
  definition: Omit<BatchStepHandlerDefinition<I, O>, 'kind'>,
): BatchStepHandlerDefinition<I, O> {
  for (const [name, value] of [
    ['maxBatchSize', definition.maxBatchSize],
    ['concurrency', definition.concurrency ?? 1],
    ['prefetch', definition.prefetch ?? 1],
  ] as const) {
    if (!Number.isInteger(value) || value < 1)
      throw new Error(
        `${name} of the ${definition.queue} batch handler must be an integer ≥ 1, got ${value}`,
      );
  }
  if (!Number.isFinite(definition.maxWaitMs) || definition.maxWaitMs < 0)
    throw new Error(
      `maxWaitMs of the ${definition.queue} batch handler must be a number ≥ 0, got ${definition.maxWaitMs}`,
    );
  return { ...definition, kind: 'batch' };
}

/** The prefetch a batch handler consumes with. */
export function batchPrefetch(definition: BatchStepHandlerDefinition<unknown, unknown>): number {
  return definition.prefetch ?? definition.maxBatchSize * ((definition.concurrency ?? 1) + 1);
}

interface Waiting<I, O> {
  readonly context: StepContext<I>;
  readonly arrivedAt: number;
  resolve(output: O): void;
  reject(error: unknown): void;
}

/**
 * Groups the items handed to `submit` into calls of `handleBatch` and settles each item's
 * promise with its own outcome. Items are taken in arrival order; a batch starts when it is full,
 * or when its oldest item has waited `maxWaitMs` — in both cases only while fewer than
 * `concurrency` batches run.
 */
export class MicroBatcher<I, O> {
  private readonly waiting: Waiting<I, O>[] = [];
  private running = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly definition: BatchStepHandlerDefinition<I, O>,
    private readonly signal: AbortSignal,
  ) {}

  /** Resolves with the item's output, or rejects with its error. */
  submit(context: StepContext<I>): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ context, arrivedAt: Date.now(), resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    const { maxBatchSize, maxWaitMs } = this.definition;
    const concurrency = this.definition.concurrency ?? 1;
    while (this.running < concurrency && this.waiting.length > 0) {
      const oldest = this.waiting[0];
      const due = oldest !== undefined && Date.now() - oldest.arrivedAt >= maxWaitMs;
      if (this.waiting.length < maxBatchSize && !due) break;
      void this.run(this.waiting.splice(0, maxBatchSize));
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const oldest = this.waiting[0];
    if (oldest && this.running < concurrency) {
      const wait = Math.max(0, oldest.arrivedAt + maxWaitMs - Date.now());
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.drain();
      }, wait);
    }
  }

  private async run(batch: Waiting<I, O>[]): Promise<void> {
    this.running++;
    try {
      const outcomes = await this.definition.handleBatch(
        batch.map((w) => w.context),
        { signal: this.signal },
      );
      if (!Array.isArray(outcomes) || outcomes.length !== batch.length) {
        const got = Array.isArray(outcomes) ? `${outcomes.length} outcomes` : typeof outcomes;
        throw new FatalStepError(
          `the ${this.definition.queue} batch handler returned ${got} for ${batch.length} items: return one outcome per item, in order`,
          { code: 'INVALID_BATCH_OUTPUT' },
        );
      }
      batch.forEach((waiting, i) => settle(waiting, outcomes[i], this.definition.queue));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    } finally {
      this.running--;
      this.drain();
    }
  }
}

function settle<I, O>(waiting: Waiting<I, O>, outcome: ItemOutcome<O> | undefined, queue: string) {
  if (outcome?.status === 'succeeded') waiting.resolve(outcome.output);
  else if (outcome?.status === 'failed') waiting.reject(outcome.error);
  else
    waiting.reject(
      new FatalStepError(
        `the ${queue} batch handler returned an outcome that is neither { status: 'succeeded', output } nor { status: 'failed', error }`,
        { code: 'INVALID_BATCH_OUTPUT' },
      ),
    );
}
