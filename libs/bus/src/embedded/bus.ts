import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { eventRoutingKey, encodeMessage } from '../codec';
import { toDeadLetter } from '../dead-letter';
import {
  defineQueue,
  subscriptionQueue,
  topologyNames,
  type QueueDefinition,
  type TopicDefinition,
} from '../definitions';
import { processDelivery, type DeliveryContext } from '../delivery';
import { BusClosedError } from '../errors';
import { replayHeaders } from '../headers';
import type { BusMetrics } from '../metrics';
import type {
  Bus,
  ConsumeOptions,
  DeadLetter,
  Handler,
  PublishOptions,
  SubscribeOptions,
  Subscription,
} from '../transport';
import { publishHeaders, validatePrefetch } from '../options';
import type { EmbeddedBroker } from './broker';
import type { EmbeddedMessage, EmbeddedQueue } from './queue';

/**
 * The in-process transport: same interface and the same ack / retry / dead-letter semantics as
 * the AMQP one (both call processDelivery), for single-process local mode and unit tests.
 * Messages are kept as encoded JSON, so what a handler sees is what it would see off the wire.
 */
export class EmbeddedBus implements Bus {
  readonly kind = 'embedded' as const;
  private closed = false;
  private readonly subscriptions = new Set<Subscription>();

  constructor(
    private readonly broker: EmbeddedBroker,
    private readonly logger: Logger,
    private readonly metrics: BusMetrics,
  ) {}

  async publish<T>(queue: QueueDefinition<T>, message: T, options?: PublishOptions): Promise<void> {
    this.assertOpen(`publish to queue ${queue.name}`);
    const body = encodeMessage(queue.schema, message, `queue ${queue.name}`);
    this.declare(queue);
    this.broker.queue(queue.name).enqueue({
      body,
      headers: publishHeaders(options),
      messageId: options?.messageId ?? randomUUID(),
      routingKey: queue.name,
      exchange: '',
    });
    this.metrics.published(queue.name);
  }

  async publishEvent<T>(
    topic: TopicDefinition<T>,
    message: T,
    options?: PublishOptions,
  ): Promise<void> {
    this.assertOpen(`publish to topic ${topic.exchange}`);
    const body = encodeMessage(topic.schema, message, `topic ${topic.exchange}`);
    const routingKey = eventRoutingKey(message, options?.routingKey, topic.exchange);
    const delivered = this.broker.publish(topic.exchange, {
      body,
      headers: publishHeaders(options),
      messageId: options?.messageId ?? randomUUID(),
      routingKey,
      exchange: topic.exchange,
    });
    this.metrics.published(topic.exchange);
    if (delivered === 0) options?.onUnroutable?.();
  }

  async consume<T>(
    queue: QueueDefinition<T>,
    handler: Handler<T>,
    options?: ConsumeOptions,
  ): Promise<Subscription> {
    this.assertOpen(`consume from queue ${queue.name}`);
    const prefetch = validatePrefetch(options?.prefetch);
    this.declare(queue);
    return this.attach(this.broker.queue(queue.name), queue, handler, prefetch, {
      context: { queue: queue.name, exchange: '' },
      deadLetterQueue: topologyNames.deadLetterQueue(queue.name),
    });
  }

  async subscribe<T>(
    topic: TopicDefinition<T>,
    handler: Handler<T>,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    this.assertOpen(`subscribe to topic ${topic.exchange}`);
    const prefetch = validatePrefetch(options?.prefetch);
    const pattern = options?.pattern ?? '#';
    const policy = { maxAttempts: options?.maxAttempts, retryDelayMs: options?.retryDelayMs };
    if (options?.durableName !== undefined) {
      const definition = subscriptionQueue(topic, options.durableName, policy);
      this.declare(definition);
      const queue = this.broker.queue(definition.name);
      this.broker.bind(topic.exchange, pattern, queue);
      return this.attach(queue, definition, handler, prefetch, {
        context: { queue: definition.name, exchange: topic.exchange },
        deadLetterQueue: topologyNames.deadLetterQueue(definition.name),
      });
    }
    // As on RabbitMQ: the definition names the metrics, the private queue has a unique name.
    const definition = defineQueue({
      name: `${topic.exchange}.transient`,
      schema: topic.schema,
      ...policy,
    });
    const queue = this.broker.queue(`${topic.exchange}.transient.${randomUUID()}`);
    this.broker.queue(topologyNames.topicDeadLetterQueue(topic.exchange));
    this.broker.bind(topic.exchange, pattern, queue);
    const inner = this.attach(queue, definition, handler, prefetch, {
      context: { queue: queue.name, exchange: topic.exchange },
      deadLetterQueue: topologyNames.topicDeadLetterQueue(topic.exchange),
    });
    const subscription: Subscription = {
      cancel: async () => {
        // Like an exclusive auto-delete queue: it goes away with its only consumer.
        this.broker.unbind(topic.exchange, pattern, queue);
        await inner.cancel();
        this.broker.deleteQueue(queue.name);
        this.subscriptions.delete(subscription);
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async assertQueue(queue: QueueDefinition<unknown>): Promise<void> {
    this.assertOpen(`assert queue ${queue.name}`);
    this.declare(queue);
  }

  async queueDepth(queue: QueueDefinition<unknown>): Promise<number> {
    this.assertOpen(`read the depth of queue ${queue.name}`);
    this.declare(queue);
    return this.broker.queue(queue.name).depth;
  }

  async deadLetterDepth(queue: QueueDefinition<unknown>): Promise<number> {
    this.assertOpen(`read the dead-letter depth of ${queue.name}`);
    this.declare(queue);
    return this.broker.queue(topologyNames.deadLetterQueue(queue.name)).depth;
  }

  async drainDeadLetters(queue: QueueDefinition<unknown>, max = 100): Promise<DeadLetter[]> {
    this.assertOpen(`drain dead letters of ${queue.name}`);
    const dlq = this.broker.queue(topologyNames.deadLetterQueue(queue.name));
    const out: DeadLetter[] = [];
    while (out.length < max) {
      const message = dlq.take();
      if (!message) break;
      out.push(toDeadLetter(message.body, message.headers, message.messageId));
    }
    return out;
  }

  async replayDeadLetters(queue: QueueDefinition<unknown>, max = 100): Promise<number> {
    this.assertOpen(`replay dead letters of ${queue.name}`);
    this.declare(queue);
    const dlq = this.broker.queue(topologyNames.deadLetterQueue(queue.name));
    const target = this.broker.queue(queue.name);
    let moved = 0;
    while (moved < max) {
      const message = dlq.take();
      if (!message) break;
      target.enqueue({
        ...message,
        headers: replayHeaders(message.headers),
        routingKey: queue.name,
      });
      moved += 1;
    }
    return moved;
  }

  isHealthy(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.cancel()));
  }

  private declare(queue: QueueDefinition<unknown>): void {
    this.broker.queue(queue.name);
    this.broker.queue(topologyNames.deadLetterQueue(queue.name));
  }

  private assertOpen(what: string): void {
    if (this.closed) throw new BusClosedError(`cannot ${what}: the bus is closed`);
  }

  private attach<T>(
    queue: EmbeddedQueue,
    /** Its name labels the metrics. */
    policy: QueueDefinition<T>,
    handler: Handler<T>,
    prefetch: number,
    target: { context: DeliveryContext; deadLetterQueue: string },
  ): Subscription {
    const { context } = target;
    const consumer = queue.addConsumer(prefetch, async (message: EmbeddedMessage) => {
      this.metrics.consumed(policy.name);
      const outcome = await processDelivery(message, policy, handler, context);
      switch (outcome.kind) {
        case 'ack':
          this.metrics.acked(policy.name);
          return;
        case 'retry':
          this.metrics.retried(policy.name);
          this.logger.info(
            {
              queue: context.queue,
              messageId: message.messageId,
              attempt: outcome.attempt,
              err: outcome.error,
            },
            'handler failed; retrying',
          );
          this.broker.enqueueAfter(
            queue.name,
            { ...message, headers: outcome.headers, routingKey: queue.name },
            outcome.delayMs,
          );
          return;
        case 'dead-letter':
          this.metrics.deadLettered(policy.name, outcome.cause);
          this.logger.warn(
            {
              queue: context.queue,
              messageId: message.messageId,
              attempt: outcome.attempt,
              reason: outcome.reason,
            },
            'message dead-lettered',
          );
          this.broker
            .queue(target.deadLetterQueue)
            .enqueue({ ...message, headers: outcome.headers });
          return;
      }
    });
    let cancelled = false;
    const subscription: Subscription = {
      cancel: async () => {
        if (!cancelled) {
          cancelled = true;
          queue.removeConsumer(consumer);
          this.subscriptions.delete(subscription);
        }
        await consumer.idle();
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }
}
