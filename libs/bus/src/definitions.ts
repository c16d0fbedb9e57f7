import type { z } from 'zod';

/**
 * How RabbitMQ stores a queue (the embedded transport has one kind of queue and ignores it).
 *
 * - `quorum` (default): replicated (Raft), every message fsynced before it is delivered; the
 *   broker itself dead-letters a message redelivered more than DELIVERY_LIMIT times.
 * - `classic`: durable, persistent messages, publisher confirms and manual acks all the same, but
 *   a message is handed to a waiting consumer before it reaches disk and the queue lives on one
 *   node. Lower latency per hop; survives a broker restart only for what was written to disk,
 *   and not the loss of that node. No broker delivery limit: the bus counts redeliveries itself
 *   (see `redeliveryOutcome` in delivery.ts).
 */
export type QueueType = 'quorum' | 'classic';

export const QUEUE_TYPES: readonly QueueType[] = ['quorum', 'classic'];

/**
 * One definition per queue, imported by both producer and consumer, so the two can never
 * disagree on the queue's name, its message schema or its redelivery bound.
 */
export interface QueueDefinition<T> {
  readonly kind: 'queue';
  /** The AMQP queue name. Its dead-letter queue is `${name}.dlq`. */
  readonly name: string;
  /** Validates every message on publish (caller bug → rejected promise) and on consume (→ DLQ). */
  readonly schema: z.ZodType<T>;
  /** Deliveries before a message is dead-lettered (1 = never retried). */
  readonly maxAttempts: number;
  /** Delay before a failed message is retried (ms); the attempt counter travels in headers. */
  readonly retryDelayMs: number;
  /** RabbitMQ queue type (default quorum). Producers and consumers must agree: see README. */
  readonly queueType: QueueType;
}

/** A fan-out of events: every subscriber gets its own durable or transient queue bound to it. */
export interface TopicDefinition<T> {
  readonly kind: 'topic';
  /** The AMQP topic exchange name. */
  readonly exchange: string;
  readonly schema: z.ZodType<T>;
}

/** A day: longer delays belong in a scheduler, not in a retry queue's per-message TTL. */
export const MAX_RETRY_DELAY_MS = 86_400_000;

export function defineQueue<T>(options: {
  name: string;
  schema: z.ZodType<T>;
  maxAttempts?: number;
  retryDelayMs?: number;
  queueType?: QueueType;
}): QueueDefinition<T> {
  if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(options.name)) {
    throw new Error(
      `invalid queue name ${JSON.stringify(options.name)}: use 1-200 letters, digits, '.', '_', ':' or '-'`,
    );
  }
  const maxAttempts = options.maxAttempts ?? 5;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new Error(
      `queue ${options.name}: maxAttempts must be an integer ≥ 1, got ${maxAttempts}`,
    );
  }
  const retryDelayMs = options.retryDelayMs ?? 0;
  if (!Number.isInteger(retryDelayMs) || retryDelayMs < 0 || retryDelayMs > MAX_RETRY_DELAY_MS) {
    throw new Error(
      `queue ${options.name}: retryDelayMs must be an integer between 0 and ${MAX_RETRY_DELAY_MS}, got ${retryDelayMs}`,
    );
  }
  const queueType = options.queueType ?? 'quorum';
  if (!QUEUE_TYPES.includes(queueType)) {
    throw new Error(
      `queue ${options.name}: queueType must be ${QUEUE_TYPES.join(' or ')}, got ${String(queueType)}`,
    );
  }
  return {
    kind: 'queue',
    name: options.name,
    schema: options.schema,
    maxAttempts,
    retryDelayMs,
    queueType,
  };
}

export function defineTopic<T>(options: {
  exchange: string;
  schema: z.ZodType<T>;
}): TopicDefinition<T> {
  if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(options.exchange)) {
    throw new Error(`invalid exchange name ${JSON.stringify(options.exchange)}`);
  }
  return { kind: 'topic', exchange: options.exchange, schema: options.schema };
}

/**
 * The queue behind a durable topic subscription (`${exchange}.${durableName}`), e.g. to read its
 * depth or drain its dead letters. Pass the same maxAttempts/retryDelayMs as to `subscribe`.
 */
export function subscriptionQueue<T>(
  topic: TopicDefinition<T>,
  durableName: string,
  options: { maxAttempts?: number; retryDelayMs?: number } = {},
): QueueDefinition<T> {
  return defineQueue({
    name: `${topic.exchange}.${durableName}`,
    schema: topic.schema,
    ...options,
  });
}

/** Names of the broker objects that make up one queue's topology (see README). */
export const topologyNames = {
  deadLetterExchange: (queue: string) => `${queue}.dlx`,
  deadLetterQueue: (queue: string) => `${queue}.dlq`,
  retryQueue: (queue: string) => `${queue}.retry`,
  /** Where transient (server-named, exclusive) subscriptions of a topic dead-letter to. */
  topicDeadLetterQueue: (exchange: string) => `${exchange}.dlq`,
  topicDeadLetterExchange: (exchange: string) => `${exchange}.dlx`,
} as const;
