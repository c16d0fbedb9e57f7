import { hostname } from 'node:os';
import type { Bus, Delivery, QueueType, Subscription } from '@conveyor/bus';
import type { StepProgress, StepRequest, StepResult } from '@conveyor/contracts';
import { stepIdempotencyKey, uuidv7 } from '@conveyor/contracts';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { batchPrefetch, MicroBatcher, type BatchStepHandlerDefinition } from './batch';
import { FatalStepError, toStepError } from './errors';
import {
  assertStepQueue,
  stepProgressQueue,
  stepQueue,
  stepQueueTypeFromEnv,
  stepResultsQueue,
} from './topology';

/** What a step handler gets for one attempt. */
export interface StepContext<I> {
  /** The request's `input`, parsed by the handler's `input` schema when it has one. */
  readonly input: I;
  readonly request: StepRequest;
  readonly runId: string;
  readonly taskId: string;
  readonly step: string;
  readonly attempt: number;
  readonly itemIndex: number | undefined;
  /**
   * The key to deduplicate side effects on: equal for this step of this run (this fan-out item)
   * across attempts, redeliveries and chain continuations (`taskId` is not; protocol §2).
   */
  readonly idempotencyKey: string;
  /** When the orchestrator gives up on this attempt unless a heartbeat pushes it further. */
  readonly deadline: Date;
  /** Aborted when the worker is shutting down past its grace period; pass it to cancellable I/O. */
  readonly signal: AbortSignal;
  /**
   * Reports progress and pushes the attempt's deadline to now + the step timeout. Long steps call
   * it (or set `heartbeatIntervalMs`) so that their timeout works as a liveness check.
   */
  heartbeat(progress?: { progress?: number; message?: string }): Promise<void>;
}

export interface StepHandlerDefinition<I, O> {
  /** The worker queue: the `queue` the workflow YAML names for the step. */
  readonly queue: string;
  /** Validates the input; a mismatch fails the step at once (fatal, code INVALID_INPUT). */
  readonly input?: z.ZodType<I>;
  /** Validates the output before it is sent; a mismatch is a fatal INVALID_OUTPUT (a worker bug). */
  readonly output?: z.ZodType<O>;
  /** Attempts handled at once by this process (AMQP prefetch). Default 8. */
  readonly concurrency?: number;
  /** Sends a heartbeat this often while the handler runs (off by default). */
  readonly heartbeatIntervalMs?: number;
  handle(context: StepContext<I>): Promise<O>;
}

/** Identity helper that keeps the input/output types of a handler definition. */
export function defineStepHandler<I = unknown, O = unknown>(
  definition: StepHandlerDefinition<I, O>,
): StepHandlerDefinition<I, O> {
  return definition;
}

export interface StepWorkerOptions {
  bus: Bus;
  // Handlers of different input/output types live side by side; each checks its own types.
  handlers: readonly AnyStepHandler[];
  /** Shown in results and the run inspector. Default `<hostname>/<pid>`. */
  workerId?: string;
  logger?: Logger;
  /**
   * Acknowledge, without running, requests whose deadline has already passed: the orchestrator
   * has retried them (or will) and would ignore the result. Default true.
   */
  skipExpired?: boolean;
  /**
   * RabbitMQ type of the step, result and progress queues; must equal the orchestrator's
   * (`STEP_QUEUE_TYPE`). Default: `stepQueueTypeFromEnv()` (classic when unset).
   */
  queueType?: QueueType;
  /**
   * Start the next step of a chain from here when a request carries a `chain` (protocol §7):
   * one broker hop per link instead of two. Default true; false leaves every dispatch to the
   * orchestrator, as a worker that ignores `chain` does.
   */
  continueChains?: boolean;
}

/** A single-item or a batch handler definition, of any input/output types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStepHandler = StepHandlerDefinition<any, any> | BatchStepHandlerDefinition<any, any>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function isBatchHandler(handler: AnyStepHandler): handler is BatchStepHandlerDefinition<any, any> {
  return 'kind' in handler && handler.kind === 'batch';
}

export interface StepWorker {
  readonly workerId: string;
  /** Attempts being handled right now. */
  inFlight(): number;
  /**
   * Graceful shutdown: stops taking new requests and waits for running handlers to send their
   * results; requests not yet started stay in the queue for another worker.
   */
  close(): Promise<void>;
}

/** Consumes the handlers' queues on `bus` until `close()`. */
export async function startStepWorker(options: StepWorkerOptions): Promise<StepWorker> {
  const workerId = options.workerId ?? `${hostname()}/${process.pid}`;
  const { bus, logger } = options;
  const skipExpired = options.skipExpired ?? true;
  const queueType = options.queueType ?? stepQueueTypeFromEnv();
  const continueChains = options.continueChains ?? true;
  const shutdown = new AbortController();
  const subscriptions: Subscription[] = [];
  let inFlight = 0;

  const seen = new Set<string>();
  for (const handler of options.handlers) {
    if (seen.has(handler.queue))
      throw new Error(`two handlers for queue "${handler.queue}": keep one per queue`);
    seen.add(handler.queue);
  }

  for (const handler of options.handlers) {
    const queue = stepQueue(handler.queue, queueType);
    await assertStepQueue(bus, queue);
    // A batch handler's items go through the batcher; everything else about an item (input and
    // output checks, heartbeats, chain, result, ack after confirm) is the single-item path.
    let execute: Execute;
    let prefetch: number;
    if (isBatchHandler(handler)) {
      const batcher = new MicroBatcher(handler, shutdown.signal);
      execute = (context) => batcher.submit(context);
      prefetch = batchPrefetch(handler);
    } else {
      const single = handler;
      execute = (context) => single.handle(context);
      prefetch = handler.concurrency ?? 8;
    }
    const subscription = await bus.consume(
      queue,
      async (delivery: Delivery<StepRequest>) => {
        inFlight++;
        try {
          await runAttempt(handler, execute, delivery);
        } finally {
          inFlight--;
        }
      },
      { prefetch },
    );
    subscriptions.push(subscription);
  }

  async function runAttempt(
    handler: Pick<AnyStepHandler, 'queue' | 'input' | 'output' | 'heartbeatIntervalMs'>,
    execute: Execute,
    delivery: Delivery<StepRequest>,
  ) {
    const request = delivery.message;
    const deadline = new Date(request.deadline);
    // Created only when something is logged: a pino child per attempt is measurable on the hot path.
    const log = () =>
      logger?.child({
        runId: request.runId,
        taskId: request.taskId,
        step: request.step,
        attempt: request.attempt,
      });
    if (skipExpired && deadline.getTime() < Date.now()) {
      log()?.warn(
        { deadline: request.deadline },
        'skipping a step request whose deadline has passed',
      );
      return;
    }
    const startedAt = new Date().toISOString();
    const heartbeat = async (progress: { progress?: number; message?: string } = {}) => {
      const message: StepProgress = {
        type: 'workflow.step.progress',
        version: 1,
        taskId: request.taskId,
        attempt: request.attempt,
        runId: request.runId,
        step: request.step,
        at: new Date().toISOString(),
        ...progress,
      };
      await bus.publish(stepProgressQueue(request.progressTo, queueType), message);
    };
    const timer =
      handler.heartbeatIntervalMs && handler.heartbeatIntervalMs > 0
        ? setInterval(() => {
            heartbeat().catch((error: unknown) => log()?.warn({ err: error }, 'heartbeat failed'));
          }, handler.heartbeatIntervalMs)
        : undefined;

    const common = {
      type: 'workflow.step.result' as const,
      version: 1 as const,
      taskId: request.taskId,
      attempt: request.attempt,
      runId: request.runId,
      step: request.step,
      workerId,
      startedAt,
    };
    let result: StepResult;
    try {
      let input: unknown = request.input;
      if (handler.input) {
        const parsed = handler.input.safeParse(request.input);
        if (!parsed.success) {
          throw new FatalStepError(`input does not match the ${handler.queue} handler's schema`, {
            code: 'INVALID_INPUT',
            details: parsed.error.issues.map((i) => ({
              path: i.path.join('.'),
              message: i.message,
            })),
          });
        }
        input = parsed.data;
      }
      let output = await execute({
        input,
        request,
        runId: request.runId,
        taskId: request.taskId,
        step: request.step,
        attempt: request.attempt,
        itemIndex: request.itemIndex,
        idempotencyKey: idempotencyKeyOf(request),
        deadline,
        signal: shutdown.signal,
        heartbeat,
      });
      if (handler.output) {
        const parsed = handler.output.safeParse(output);
        if (!parsed.success) {
          throw new FatalStepError(
            `the ${handler.queue} handler returned output that does not match its schema`,
            {
              code: 'INVALID_OUTPUT',
              details: parsed.error.issues.map((i) => ({
                path: i.path.join('.'),
                message: i.message,
              })),
            },
          );
        }
        output = parsed.data;
      }
      // JSON has no `undefined`; a handler with nothing to say returns null on the wire.
      result = {
        ...common,
        status: 'succeeded',
        output: output === undefined ? null : output,
        finishedAt: new Date().toISOString(),
      };
    } catch (error) {
      const stepError = toStepError(error);
      log()?.warn({ err: error, retryable: stepError.retryable }, 'step attempt failed');
      result = {
        ...common,
        status: 'failed',
        error: stepError,
        finishedAt: new Date().toISOString(),
      };
    } finally {
      if (timer) clearInterval(timer);
    }
    if (result.status === 'succeeded' && continueChains && request.chain) {
      const taskId = await continueChain(request, result.output, log);
      if (taskId) result = { ...result, continuedAs: taskId };
    }
    // If this throws (broker unreachable) the bus redelivers the request: the step runs again,
    // which at-least-once delivery allows and the orchestrator's idempotent transitions absorb.
    await bus.publish(stepResultsQueue(request.replyTo, queueType), result, {
      messageId: `${request.taskId}:${request.attempt}`,
      correlationId: request.runId,
    });
  }

  /**
   * Publishes the request of `chain[0]` and returns its task id once the broker confirmed it, or
   * undefined (logged) if that failed: the result then goes without `continuedAs` and the
   * orchestrator dispatches the step. Published before the result, so a crash in between leaves
   * this request unacknowledged and redelivered, never a next step the orchestrator believes sent.
   * The task id is new for every continuation: should this attempt run twice, the orchestrator
   * keeps the next step its accepted result names and drops the other's result as stale. It is
   * a time-ordered UUID (v7, as the orchestrator's own ids; protocol §7.2 recommends it): the
   * orchestrator's store then adds the link's task and attempt at the right edge of their
   * indexes instead of on a random page, fewer pages written per commit.
   */
  async function continueChain(
    request: StepRequest,
    output: unknown,
    log: () => Logger | undefined,
  ): Promise<string | undefined> {
    const [link, ...rest] = request.chain ?? [];
    if (!link) return undefined;
    const next: StepRequest = {
      type: 'workflow.step.request',
      version: 1,
      taskId: uuidv7(),
      attempt: 1,
      runId: request.runId,
      workflow: request.workflow,
      step: link.step,
      queue: link.queue,
      // Links are plain steps (never fan-out items): the key is the run's and the step's.
      idempotencyKey: stepIdempotencyKey(request.runId, link.step),
      input: link.input.from === 'output' ? output : link.input.value,
      deadline: new Date(Date.now() + link.timeoutMs).toISOString(),
      timeoutMs: link.timeoutMs,
      replyTo: request.replyTo,
      progressTo: request.progressTo,
      ...(rest.length > 0 ? { chain: rest } : {}),
    };
    try {
      await bus.publish(stepQueue(link.queue, queueType), next, {
        messageId: `${next.taskId}:1`,
        correlationId: request.runId,
        // Every field is copied from the request, validated on arrival, or made here by typed
        // code (the new id, attempt, deadline); `input` is any JSON in the schema too. The step's
        // worker validates it on arrival all the same.
        validate: false,
      });
      return next.taskId;
    } catch (error) {
      log()?.warn(
        { err: error, nextStep: link.step, queue: link.queue },
        'starting the next step of the chain failed; the orchestrator will dispatch it',
      );
      return undefined;
    }
  }

  return {
    workerId,
    inFlight: () => inFlight,
    async close() {
      await Promise.all(subscriptions.map((s) => s.cancel()));
      shutdown.abort();
    },
  };
}

/** Runs one item: the handler itself, or a place in the next batch. */
type Execute = (context: StepContext<unknown>) => Promise<unknown>;

/** The request's key, computed as the orchestrator does for requests that predate the field. */
function idempotencyKeyOf(request: StepRequest): string {
  return (
    request.idempotencyKey ?? stepIdempotencyKey(request.runId, request.step, request.itemIndex)
  );
}
