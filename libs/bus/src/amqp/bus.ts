import { randomUUID } from 'node:crypto';
import type { Channel, Options } from 'amqplib';
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
import { publishHeaders, validatePrefetch } from '../options';
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
import { ChannelKeeper, isRefusal } from './channel-keeper';
import { ManagedConnection, type ReconnectPolicy } from './connection';
import { AmqpConsumer, type ConsumerTarget } from './consumer';
import { ConfirmPublisher } from './publisher';
import { declareQueueTopology, declareTopic, declareTopicDeadLetters } from './topology';

export interface AmqpBusOptions {
  url: string;
  logger: Logger;
  metrics: BusMetrics;
  connectionName?: string;
  publishTimeoutMs?: number;
  connectTimeoutMs?: number;
  reconnect?: Partial<ReconnectPolicy>;
  heartbeatSeconds?: number;
}

/**
 * amqplib otherwise takes the broker's suggestion (60 s): a broker that vanished without closing
 * the TCP connection would go unnoticed for two minutes. A `heartbeat` in the URL wins.
 */
export function withHeartbeat(url: string, seconds: number): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(seconds));
  return parsed.toString();
}

/**
 * Two connections, as RabbitMQ recommends: when the broker blocks publishers (memory or disk
 * alarm), consumers on their own connection keep draining queues and acking.
 */
export async function connectAmqpBus(options: AmqpBusOptions): Promise<Bus> {
  const name = options.connectionName ?? `conveyor-${process.pid}-${randomUUID().slice(0, 8)}`;
  const reconnect: ReconnectPolicy = {
    initialDelayMs: options.reconnect?.initialDelayMs ?? 100,
    maxDelayMs: options.reconnect?.maxDelayMs ?? 5000,
  };
  const timeoutMs = options.connectTimeoutMs ?? 15_000;
  const common = {
    url: withHeartbeat(options.url, options.heartbeatSeconds ?? 15),
    logger: options.logger,
    metrics: options.metrics,
    reconnect,
    timeoutMs,
  };
  const publishConnection = await ManagedConnection.open({ ...common, name: `${name}/publish` });
  let consumeConnection: ManagedConnection;
  try {
    consumeConnection = await ManagedConnection.open({ ...common, name: `${name}/consume` });
  } catch (err) {
    await publishConnection.close();
    throw err;
  }
  return new AmqpBus(publishConnection, consumeConnection, {
    logger: options.logger,
    metrics: options.metrics,
    publishTimeoutMs: options.publishTimeoutMs ?? 30_000,
    connectTimeoutMs: timeoutMs,
    reconnect,
  });
}

class AmqpBus implements Bus {
  readonly kind = 'amqp' as const;
  private closed = false;
  private readonly publisher: ConfirmPublisher;
  /** Declarations and basic.get run here, so a failed declaration never kills the confirm channel. */
  private readonly topology: ChannelKeeper<Channel>;
  /** Declared since the last (re)connect; a broker restart may have lost non-durable state. */
  private declared = new Set<string>();
  /** Every declaration this bus has made, replayed on a new confirm channel (see ConfirmPublisher). */
  private readonly declarations = new Map<string, (channel: Channel) => Promise<void>>();
  private readonly consumers = new Set<AmqpConsumer<unknown>>();

  constructor(
    private readonly publishConnection: ManagedConnection,
    private readonly consumeConnection: ManagedConnection,
    private readonly settings: {
      logger: Logger;
      metrics: BusMetrics;
      publishTimeoutMs: number;
      connectTimeoutMs: number;
      reconnect: ReconnectPolicy;
    },
  ) {
    this.publisher = new ConfirmPublisher(
      publishConnection,
      settings.logger,
      settings.metrics,
      (unroutableQueue) => this.redeclareAll(unroutableQueue),
    );
    this.topology = new ChannelKeeper<Channel>({
      name: `${publishConnection.name}#topology`,
      connection: publishConnection,
      logger: settings.logger,
      open: (model) => model.createChannel(),
    });
    publishConnection.on('connect', () => {
      this.declared = new Set();
    });
    this.topology.kick();
  }

  async publish<T>(queue: QueueDefinition<T>, message: T, options?: PublishOptions): Promise<void> {
    this.assertOpen(`publish to queue ${queue.name}`);
    const content = encodeMessage(queue.schema, message, `queue ${queue.name}`, options);
    const deadline = Date.now() + this.settings.publishTimeoutMs;
    await this.declareOnce(`queue:${queue.name}`, (ch) => this.declareQueue(ch, queue), deadline);
    await this.publisher.publish(
      '',
      queue.name,
      content,
      { ...this.properties(options), mandatory: true },
      { deadline, timeoutMs: this.settings.publishTimeoutMs, countAs: queue.name },
    );
  }

  async publishEvent<T>(
    topic: TopicDefinition<T>,
    message: T,
    options?: PublishOptions,
  ): Promise<void> {
    this.assertOpen(`publish to topic ${topic.exchange}`);
    const content = encodeMessage(topic.schema, message, `topic ${topic.exchange}`, options);
    const routingKey = eventRoutingKey(message, options?.routingKey, topic.exchange);
    const deadline = Date.now() + this.settings.publishTimeoutMs;
    await this.declareOnce(
      `topic:${topic.exchange}`,
      (ch) => declareTopic(ch, topic.exchange),
      deadline,
    );
    // An event nobody subscribes to is not an error: mandatory only to tell a caller who asks.
    const onUnroutable = options?.onUnroutable;
    await this.publisher.publish(
      topic.exchange,
      routingKey,
      content,
      { ...this.properties(options), ...(onUnroutable ? { mandatory: true } : {}) },
      {
        deadline,
        timeoutMs: this.settings.publishTimeoutMs,
        countAs: topic.exchange,
        ...(onUnroutable ? { onReturned: onUnroutable } : {}),
      },
    );
  }

  async consume<T>(
    queue: QueueDefinition<T>,
    handler: Handler<T>,
    options?: ConsumeOptions,
  ): Promise<Subscription> {
    this.assertOpen(`consume from queue ${queue.name}`);
    this.declarations.set(`queue:${queue.name}`, (ch) => this.declareQueue(ch, queue));
    return this.startConsumer(`queue ${queue.name}`, queue, handler, options, {
      declare: async (ch) => {
        await this.declareQueue(ch, queue);
        return queue.name;
      },
      exchange: '',
      deadLetterExchange: topologyNames.deadLetterExchange(queue.name),
      hasRetryQueue: true,
      retryQueue: topologyNames.retryQueue(queue.name),
    });
  }

  async subscribe<T>(
    topic: TopicDefinition<T>,
    handler: Handler<T>,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    this.assertOpen(`subscribe to topic ${topic.exchange}`);
    const pattern = options?.pattern ?? '#';
    const policy = { maxAttempts: options?.maxAttempts, retryDelayMs: options?.retryDelayMs };
    if (options?.durableName !== undefined) {
      const definition = subscriptionQueue(topic, options.durableName, policy);
      const declare = async (ch: Channel) => {
        await declareTopic(ch, topic.exchange);
        await this.declareQueue(ch, definition);
        await ch.bindQueue(definition.name, topic.exchange, pattern);
      };
      // Replayed with the publisher's declarations: if the exchange is re-created, so is the binding.
      this.declarations.set(`subscription:${definition.name}:${pattern}`, declare);
      return this.startConsumer(`subscription ${definition.name}`, definition, handler, options, {
        declare: async (ch) => {
          await declare(ch);
          return definition.name;
        },
        exchange: topic.exchange,
        deadLetterExchange: topologyNames.deadLetterExchange(definition.name),
        hasRetryQueue: true,
        retryQueue: topologyNames.retryQueue(definition.name),
      });
    }
    const definition = defineQueue({
      name: `${topic.exchange}.transient`,
      schema: topic.schema,
      ...policy,
    });
    return this.startConsumer(
      `transient subscription to ${topic.exchange}`,
      definition,
      handler,
      options,
      {
        declare: async (ch) => {
          await declareTopic(ch, topic.exchange);
          await declareTopicDeadLetters(ch, topic.exchange);
          // Exclusive: deleted with the connection, so a transient subscriber never leaves a queue behind.
          const { queue } = await ch.assertQueue('', {
            exclusive: true,
            autoDelete: true,
            durable: false,
          });
          await ch.bindQueue(queue, topic.exchange, pattern);
          return queue;
        },
        exchange: topic.exchange,
        deadLetterExchange: topologyNames.topicDeadLetterExchange(topic.exchange),
        hasRetryQueue: false,
      },
    );
  }

  async assertQueue(queue: QueueDefinition<unknown>): Promise<void> {
    this.assertOpen(`assert queue ${queue.name}`);
    await this.withTopologyChannel((ch) => this.declareQueue(ch, queue));
    this.declared.add(`queue:${queue.name}`);
  }

  async queueDepth(queue: QueueDefinition<unknown>): Promise<number> {
    this.assertOpen(`read the depth of queue ${queue.name}`);
    return this.withTopologyChannel(async (ch) => {
      await this.declareQueue(ch, queue);
      return (await ch.checkQueue(queue.name)).messageCount;
    });
  }

  async deadLetterDepth(queue: QueueDefinition<unknown>): Promise<number> {
    this.assertOpen(`read the dead-letter depth of ${queue.name}`);
    return this.withTopologyChannel(async (ch) => {
      await this.declareQueue(ch, queue);
      return (await ch.checkQueue(topologyNames.deadLetterQueue(queue.name))).messageCount;
    });
  }

  async drainDeadLetters(queue: QueueDefinition<unknown>, max = 100): Promise<DeadLetter[]> {
    this.assertOpen(`drain dead letters of ${queue.name}`);
    const dlq = topologyNames.deadLetterQueue(queue.name);
    return this.withTopologyChannel(async (ch) => {
      await this.declareQueue(ch, queue);
      const out: DeadLetter[] = [];
      while (out.length < max) {
        const msg = await ch.get(dlq, { noAck: false });
        if (msg === false) break;
        const messageId =
          typeof msg.properties.messageId === 'string' ? msg.properties.messageId : undefined;
        out.push(toDeadLetter(msg.content, msg.properties.headers ?? {}, messageId));
        ch.ack(msg);
      }
      return out;
    });
  }

  async replayDeadLetters(queue: QueueDefinition<unknown>, max = 100): Promise<number> {
    this.assertOpen(`replay dead letters of ${queue.name}`);
    const dlq = topologyNames.deadLetterQueue(queue.name);
    return this.withTopologyChannel(async (ch) => {
      await this.declareQueue(ch, queue);
      let moved = 0;
      while (moved < max) {
        const msg = await ch.get(dlq, { noAck: false });
        if (msg === false) break;
        const properties = msg.properties;
        try {
          await this.publisher.publish(
            '',
            queue.name,
            msg.content,
            {
              messageId:
                typeof properties.messageId === 'string' ? properties.messageId : randomUUID(),
              correlationId: properties.correlationId as string | undefined,
              headers: replayHeaders(properties.headers ?? {}),
              persistent: true,
              mandatory: true,
              contentType: 'application/json',
            },
            {
              deadline: Date.now() + this.settings.publishTimeoutMs,
              timeoutMs: this.settings.publishTimeoutMs,
            },
          );
        } catch (err) {
          ch.nack(msg, false, true); // stays in the DLQ
          throw err;
        }
        ch.ack(msg);
        moved += 1;
      }
      return moved;
    });
  }

  isHealthy(): boolean {
    return !this.closed && this.publishConnection.isConnected && this.consumeConnection.isConnected;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Consumers first: their handlers may still publish retries and dead letters.
    await Promise.all([...this.consumers].map((c) => c.cancel()));
    await this.publisher.idle();
    await this.publisher.stop();
    await this.topology.stop();
    await Promise.all([this.publishConnection.close(), this.consumeConnection.close()]);
  }

  private properties(options: PublishOptions | undefined): Options.Publish & { messageId: string } {
    return {
      messageId: options?.messageId ?? randomUUID(),
      correlationId: options?.correlationId,
      headers: publishHeaders(options),
      persistent: true,
      contentType: 'application/json',
      timestamp: Math.floor(Date.now() / 1000),
    };
  }

  private async startConsumer<T>(
    label: string,
    policy: QueueDefinition<T>,
    handler: Handler<T>,
    options: ConsumeOptions | undefined,
    target: ConsumerTarget,
  ): Promise<Subscription> {
    const consumer = new AmqpConsumer<T>({
      label,
      connection: this.consumeConnection,
      publisher: this.publisher,
      policy,
      handler,
      prefetch: validatePrefetch(options?.prefetch),
      ackBatchMs: options?.ackBatchMs ?? 0,
      target,
      publishTimeoutMs: this.settings.publishTimeoutMs,
      logger: this.settings.logger,
      metrics: this.settings.metrics,
    });
    await consumer.start(this.settings.connectTimeoutMs);
    const tracked = consumer as AmqpConsumer<unknown>;
    this.consumers.add(tracked);
    return {
      cancel: async () => {
        this.consumers.delete(tracked);
        await consumer.cancel();
      },
    };
  }

  /** Runs a topology operation, retrying on a lost channel until the publish timeout. */
  private async withTopologyChannel<R>(
    fn: (channel: Channel) => Promise<R>,
    deadline?: number,
  ): Promise<R> {
    const until = deadline ?? Date.now() + this.settings.publishTimeoutMs;
    for (;;) {
      const channel = await this.topology.waitOpen(Math.max(1, until - Date.now()));
      try {
        return await fn(channel);
      } catch (err) {
        // The broker refusing (e.g. PRECONDITION_FAILED: declared with other arguments) is final;
        // anything else is a lost channel, worth another try on the next one.
        if (isRefusal(err) || Date.now() >= until) throw err;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  private async redeclareAll(unroutableQueue?: string): Promise<void> {
    for (const [key, fn] of this.declarations) {
      try {
        await this.withTopologyChannel(fn);
        this.declared.add(key);
      } catch (err) {
        this.settings.logger.warn(
          { declaration: key, err: String(err) },
          'could not re-declare topology',
        );
      }
    }
    if (unroutableQueue !== undefined) {
      // RabbitMQ 3.10 does not always send basic.cancel to consumers of a quorum queue that is
      // deleted and at once re-declared: they would stay attached to nothing. Our own consumers
      // of the vanished queue re-subscribe explicitly.
      for (const consumer of this.consumers) {
        if (consumer.queueName === unroutableQueue) consumer.resubscribe();
      }
    }
  }

  private async declareOnce(
    key: string,
    fn: (channel: Channel) => Promise<void>,
    deadline: number,
  ): Promise<void> {
    this.declarations.set(key, fn);
    if (this.declared.has(key)) return;
    await this.withTopologyChannel(fn, deadline);
    this.declared.add(key);
  }

  /** A queue's topology; a refused declaration is explained (type mismatch) via a fresh channel. */
  private declareQueue(
    channel: Channel,
    queue: Pick<QueueDefinition<unknown>, 'name' | 'retryDelayMs' | 'queueType'>,
  ): Promise<void> {
    return declareQueueTopology(channel, queue, async () => {
      const model = this.publishConnection.current;
      if (!model) throw new Error('not connected');
      return model.createChannel();
    });
  }

  private assertOpen(what: string): void {
    if (this.closed) throw new BusClosedError(`cannot ${what}: the bus is closed`);
  }
}
