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
import type { BrokerLink } from './link';
import type { EmbeddedMessage } from './queue';

/**
 * The embedded transport: same interface and the same ack / retry / dead-letter semantics as
 * the AMQP one (both call processDelivery), for local mode and unit tests. The broker is reached
 * through a BrokerLink: in this thread, or in another thread of the process (port-link.ts).
 * Messages are kept as encoded JSON, so what a handler sees is what it would see off the wire.
 */
export class EmbeddedBus implements Bus {
  readonly kind = 'embedded' as const;
  private closed = false;
  private readonly subscriptions = new Set<Subscription>();

  constructor(
    private readonly broker: BrokerLink,
    private readonly logger: Logger,
    private readonly metrics: BusMetrics,
  ) {}

  async publish<T>(queue: QueueDefinition<T>, message: T, options?: PublishOptions): Promise<void> {
    this.assertOpen(`publish to queue ${queue.name}`);
    const body = encodeMessage(queue.schema, message, `queue ${queue.name}`, options);
    await this.declare(queue);
    await this.broker.enqueue(queue.name, {
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
    const body = encodeMessage(topic.schema, message, `topic ${topic.exchange}`, options);
    const routingKey = eventRoutingKey(message, options?.routingKey, topic.exchange);
    const delivered = await this.broker.publish(topic.exchange, {
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
    await this.declare(queue);
    return this.attach(queue.name, queue, handler, prefetch, {
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
      await this.declare(definition);
      await this.broker.bind(topic.exchange, pattern, definition.name);
      return this.attach(definition.name, definition, handler, prefetch, {
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
    const queue = `${topic.exchange}.transient.${randomUUID()}`;
    await this.broker.declare([queue, topologyNames.topicDeadLetterQueue(topic.exchange)]);
    await this.broker.bind(topic.exchange, pattern, queue);
    const inner = await this.attach(queue, definition, handler, prefetch, {
      context: { queue, exchange: topic.exchange },
      deadLetterQueue: topologyNames.topicDeadLetterQueue(topic.exchange),
    });
    const subscription: Subscription = {
      cancel: async () => {
        // Like an exclusive auto-delete queue: it goes away with its only consumer.
        await this.broker.unbind(topic.exchange, pattern, queue);
        await inner.cancel();
        await this.broker.deleteQueue(queue);
        this.subscriptions.delete(subscription);
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async assertQueue(queue: QueueDefinition<unknown>): Promise<void> {
    this.assertOpen(`assert queue ${queue.name}`);
    await this.declare(queue);
  }

  async queueDepth(queue: QueueDefinition<unknown>): Promise<number> {
    this.assertOpen(`read the depth of queue ${queue.name}`);
    await this.declare(queue);
    return this.broker.depth(queue.name);
  }

  async deadLetterDepth(queue: QueueDefinition<unknown>): Promise<number> {
    this.assertOpen(`read the dead-letter depth of ${queue.name}`);
    await this.declare(queue);
    return this.broker.depth(topologyNames.deadLetterQueue(queue.name));
  }

  async drainDeadLetters(queue: QueueDefinition<unknown>, max = 100): Promise<DeadLetter[]> {
    this.assertOpen(`drain dead letters of ${queue.name}`);
    const dlq = topologyNames.deadLetterQueue(queue.name);
    await this.broker.declare([dlq]);
    const out: DeadLetter[] = [];
    while (out.length < max) {
      const message = await this.broker.take(dlq);
      if (!message) break;
      out.push(toDeadLetter(message.body, message.headers, message.messageId));
    }
    return out;
  }

  async replayDeadLetters(queue: QueueDefinition<unknown>, max = 100): Promise<number> {
    this.assertOpen(`replay dead letters of ${queue.name}`);
    await this.declare(queue);
    const dlq = topologyNames.deadLetterQueue(queue.name);
    let moved = 0;
    while (moved < max) {
      const message = await this.broker.take(dlq);
      if (!message) break;
      await this.broker.enqueue(queue.name, {
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

  private declare(queue: QueueDefinition<unknown>): Promise<void> {
    return this.broker.declare([queue.name, topologyNames.deadLetterQueue(queue.name)]);
  }

  private assertOpen(what: string): void {
    if (this.closed) throw new BusClosedError(`cannot ${what}: the bus is closed`);
  }

  private async attach<T>(
    queue: string,
    /** Its name labels the metrics. */
    policy: QueueDefinition<T>,
    handler: Handler<T>,
    prefetch: number,
    target: { context: DeliveryContext; deadLetterQueue: string },
  ): Promise<Subscription> {
    const { context } = target;
    const consumer = await this.broker.consume(
      queue,
      prefetch,
      async (message: EmbeddedMessage) => {
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
            await this.broker.enqueue(
              queue,
              { ...message, headers: outcome.headers, routingKey: queue },
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
            await this.broker.enqueue(target.deadLetterQueue, {
              ...message,
              headers: outcome.headers,
            });
            return;
        }
      },
    );
    const subscription: Subscription = {
      cancel: async () => {
        this.subscriptions.delete(subscription);
        await consumer.cancel();
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }
}
