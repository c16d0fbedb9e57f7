import type { QueueDefinition, TopicDefinition } from './definitions';

/** What a handler receives. `attempt` starts at 1 and grows with each redelivery. */
export interface Delivery<T> {
  readonly message: T;
  readonly messageId: string;
  readonly attempt: number;
  readonly headers: Readonly<Record<string, unknown>>;
  /** Routing key for topic deliveries; the queue name for queue deliveries. */
  readonly routingKey: string;
}

/**
 * Handler contract: resolve → ack. Throw → retried (attempt + 1) until the queue's maxAttempts,
 * then dead-lettered with the error message as reason. Throw a {@link DeadLetterError} to skip
 * the remaining attempts (the message can never succeed).
 */
export type Handler<T> = (delivery: Delivery<T>) => Promise<void>;

export class DeadLetterError extends Error {
  override readonly name = 'DeadLetterError';
}

export interface PublishOptions {
  messageId?: string;
  headers?: Record<string, string | number | boolean>;
  /** Routing key for topics (default: the message's `type`). */
  routingKey?: string;
  /** Correlation id copied to AMQP properties (and headers for the embedded transport). */
  correlationId?: string;
  /**
   * Events only: called when no binding matched the routing key, so nobody received the event
   * (RabbitMQ: published `mandatory` and returned). The publish still resolves. Lets a producer
   * of costly, optional events stop sending them while nobody listens.
   */
  onUnroutable?: () => void;
  /**
   * false: send without checking the message against its schema. Only for messages built by
   * typed code (the compiler checked their shape) or passed on after they were validated on
   * arrival, where the check costs CPU on every publish and finds nothing; never for anything
   * built from untyped input (parsed JSON, user data, environment). A wrong message then fails on
   * the consumer's side: every consumer validates what it receives and dead-letters an invalid
   * message with the reason, whatever the producer did. Default true.
   */
  validate?: boolean;
}

export interface ConsumeOptions {
  /** Unacked deliveries in flight for this consumer (AMQP prefetch). Default 16. */
  prefetch?: number;
  /**
   * AMQP: how long (ms) an ack may wait to leave with others — in one frame with `multiple` when
   * every earlier delivery of the channel is acked too, else in one write. Each ack is otherwise a
   * write system call of its own whenever deliveries arrive one at a time. It is only ever later,
   * never earlier: a handler's work is done (and, for the orchestrator, committed) before its ack
   * is queued; an ack lost with its channel means a redelivery, as without batching. Default 0:
   * acks leave with the tick that produced them. The in-memory transport ignores it.
   */
  ackBatchMs?: number;
}

export interface SubscribeOptions extends ConsumeOptions {
  /** Binding pattern on the topic exchange, default '#'. */
  pattern?: string;
  /**
   * A durable subscription name (queue `${exchange}.${name}`), shared by replicas so each event is
   * handled once per subscription. Omit for a transient, exclusive subscription (every instance
   * gets every event; e.g. SSE fan-out).
   */
  durableName?: string;
  /** Deliveries before an event is dead-lettered (default 5), as for queues. */
  maxAttempts?: number;
  /** Delay before a failed event is retried (ms, default 0). */
  retryDelayMs?: number;
}

export interface Subscription {
  /** Stops delivering new messages; in-flight handlers are awaited. */
  cancel(): Promise<void>;
}

/** A message in a dead-letter queue, with why and where it came from. */
export interface DeadLetter {
  readonly body: unknown;
  readonly reason: string;
  readonly originalQueue: string;
  readonly attempts: number;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly messageId?: string;
  /** Routing key the message was first published with (the queue name for queue messages). */
  readonly routingKey?: string;
  /** ISO time of the first failed attempt, when it failed in a handler. */
  readonly firstFailureAt?: string;
  /** ISO time it was dead-lettered. */
  readonly deadLetteredAt?: string;
}

/**
 * The transport interface implemented by both the RabbitMQ transport and the embedded
 * in-process one; the same contract test suite runs against both.
 */
export interface Bus {
  readonly kind: 'amqp' | 'embedded';
  /** Resolves once the broker confirmed the message (retried across reconnects). */
  publish<T>(queue: QueueDefinition<T>, message: T, options?: PublishOptions): Promise<void>;
  publishEvent<T>(topic: TopicDefinition<T>, message: T, options?: PublishOptions): Promise<void>;
  consume<T>(
    queue: QueueDefinition<T>,
    handler: Handler<T>,
    options?: ConsumeOptions,
  ): Promise<Subscription>;
  subscribe<T>(
    topic: TopicDefinition<T>,
    handler: Handler<T>,
    options?: SubscribeOptions,
  ): Promise<Subscription>;
  /** Declares the queue, its retry and dead-letter topology (idempotent). */
  assertQueue(queue: QueueDefinition<unknown>): Promise<void>;
  /** Messages ready in the queue (for readiness checks, autoscaling hints and tests). */
  queueDepth(queue: QueueDefinition<unknown>): Promise<number>;
  /** Messages waiting in the queue's dead-letter queue (for alerts and dashboards). */
  deadLetterDepth(queue: QueueDefinition<unknown>): Promise<number>;
  /** Takes up to `max` messages out of the queue's dead-letter queue (acked). */
  drainDeadLetters(queue: QueueDefinition<unknown>, max?: number): Promise<DeadLetter[]>;
  /**
   * Moves up to `max` dead letters back into the queue (attempt counter reset), each confirmed
   * before it leaves the DLQ — e.g. after deploying a fix. Resolves with how many were moved.
   */
  replayDeadLetters(queue: QueueDefinition<unknown>, max?: number): Promise<number>;
  /** True while connected (embedded: always, until closed). */
  isHealthy(): boolean;
  /** Cancels consumers, waits for in-flight handlers, flushes pending publishes, closes. */
  close(): Promise<void>;
}
