import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { QueueDefinition } from '../definitions';
import { processDelivery, redeliveryOutcome, type Outcome } from '../delivery';
import type { BusMetrics } from '../metrics';
import type { Handler } from '../transport';
import { ChannelKeeper } from './channel-keeper';
import { QueueTypeMismatchError } from '../errors';
import type { ManagedConnection } from './connection';
import type { ConfirmPublisher } from './publisher';

export interface ConsumerTarget {
  /** Declares the topology on the channel; returns the queue to consume (server-named for transient). */
  readonly declare: (channel: Channel) => Promise<string>;
  /** Exchange messages were published to ('' for queues). */
  readonly exchange: string;
  /** Fanout exchange that leads to this consumer's dead-letter queue. */
  readonly deadLetterExchange: string;
  /** Named queue with a `.retry` queue (durable); false → delayed in process (transient subscriptions). */
  readonly hasRetryQueue: boolean;
  readonly retryQueue?: string;
}

export interface ConsumerOptions<T> {
  readonly label: string;
  readonly connection: ManagedConnection;
  readonly publisher: ConfirmPublisher;
  /** Its name labels the metrics: stable, unlike a transient subscription's server-named queue. */
  readonly policy: QueueDefinition<T>;
  readonly handler: Handler<T>;
  readonly prefetch: number;
  /** See ConsumeOptions.ackBatchMs (0: each ack leaves at once). */
  readonly ackBatchMs: number;
  readonly target: ConsumerTarget;
  readonly publishTimeoutMs: number;
  readonly logger: Logger;
  readonly metrics: BusMetrics;
}

/**
 * One consumer with its own channel (so prefetch and channel errors are per consumer). The
 * ChannelKeeper re-declares and re-consumes after any loss, once. Deliveries from a dead
 * channel still finish their handler, but their ack is lost and the broker redelivers them:
 * at-least-once, never lost.
 */
export class AmqpConsumer<T> {
  private readonly keeper: ChannelKeeper<Channel>;
  private queue = '';
  private consumerTag: string | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private cancelled = false;
  /** Delivery tags received on each channel and not yet acked or nacked (for `multiple`). */
  private readonly unsettled = new WeakMap<Channel, Set<number>>();
  /** Acks waiting for the next flush (ackBatchMs), by channel. */
  private readonly pendingAcks = new Map<Channel, ConsumeMessage[]>();
  private ackTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ConsumerOptions<T>) {
    this.keeper = new ChannelKeeper<Channel>({
      name: options.label,
      connection: options.connection,
      logger: options.logger,
      open: (model) => model.createChannel(),
      setup: async (channel) => {
        await channel.prefetch(options.prefetch);
        this.queue = await options.target.declare(channel);
        const reply = await channel.consume(this.queue, (msg) => this.onMessage(channel, msg), {
          noAck: false,
        });
        this.consumerTag = reply.consumerTag;
      },
    });
  }

  /** Resolves once consuming; rejects on a setup error (e.g. queue declared with other arguments). */
  async start(timeoutMs: number): Promise<void> {
    try {
      await this.keeper.waitOpen(timeoutMs, true);
    } catch (err) {
      await this.keeper.stop();
      if (err instanceof QueueTypeMismatchError) throw err; // already names the queue and the fix
      throw new Error(
        `cannot consume ${this.options.label}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  /** The queue consumed now (server-named ones change on every re-subscribe). */
  get queueName(): string {
    return this.queue;
  }

  /** Drops the channel; the keeper re-declares and re-consumes (unacked deliveries are requeued). */
  resubscribe(): void {
    const channel = this.keeper.current;
    if (!channel || this.cancelled) return;
    this.options.logger.warn({ consumer: this.options.label }, 're-subscribing');
    channel.close().catch(() => undefined);
  }

  async cancel(): Promise<void> {
    if (this.cancelled) return;
    this.cancelled = true;
    const channel = this.keeper.current;
    if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
    // In-flight handlers finish and ack on the still-open channel before it is closed.
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    this.flushAcks();
    await this.keeper.stop();
  }

  private onMessage(channel: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled us (queue deleted): close, and the keeper re-declares and re-consumes.
      this.options.logger.warn(
        { consumer: this.options.label },
        'consumer cancelled by the broker; re-subscribing',
      );
      channel.close().catch(() => undefined);
      return;
    }
    let tags = this.unsettled.get(channel);
    if (!tags) this.unsettled.set(channel, (tags = new Set()));
    tags.add(msg.fields.deliveryTag);
    const p = this.handle(channel, msg).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async handle(channel: Channel, msg: ConsumeMessage): Promise<void> {
    const { metrics, logger, target } = this.options;
    const queue = this.queue;
    metrics.consumed(this.options.policy.name);
    const messageId =
      typeof msg.properties.messageId === 'string' ? msg.properties.messageId : randomUUID();
    const raw = {
      body: msg.content,
      headers: msg.properties.headers ?? {},
      messageId,
      routingKey: msg.fields.routingKey,
    };
    const context = { queue, exchange: target.exchange };
    // Classic queues have no broker delivery limit: a redelivery is counted here, before the
    // handler that may have crashed the previous consumer runs again (see redeliveryOutcome).
    const outcome =
      (this.options.policy.queueType === 'classic' && msg.fields.redelivered
        ? redeliveryOutcome(raw, this.options.policy, context)
        : undefined) ??
      (await processDelivery(raw, this.options.policy, this.options.handler, context));
    try {
      await this.settle(outcome, msg, messageId, queue);
    } catch (err) {
      // The copy could not be confirmed: requeue the original rather than risk losing it.
      logger.error(
        { queue, messageId, err: err instanceof Error ? err.message : String(err) },
        `could not ${outcome.kind === 'retry' ? 'schedule a retry' : 'dead-letter'}; requeueing the delivery`,
      );
      this.nack(channel, msg);
      return;
    }
    this.ack(channel, msg, queue, messageId);
  }

  /** Publishes the retry or dead-letter copy and waits for its confirm; the caller acks after. */
  private async settle(
    outcome: Outcome,
    msg: ConsumeMessage,
    messageId: string,
    queue: string,
  ): Promise<void> {
    const { publisher, target, metrics, logger, publishTimeoutMs } = this.options;
    const timeout = () => ({
      deadline: Date.now() + publishTimeoutMs,
      timeoutMs: publishTimeoutMs,
    });
    const properties = {
      messageId,
      persistent: true,
      // An unroutable copy (its queue deleted) must fail, not vanish: the original is then requeued.
      mandatory: true,
      contentType: 'application/json',
      correlationId: msg.properties.correlationId as string | undefined,
      type: msg.properties.type as string | undefined,
      timestamp: msg.properties.timestamp as number | undefined,
    };
    switch (outcome.kind) {
      case 'ack':
        metrics.acked(this.options.policy.name);
        return;
      case 'retry': {
        logger.info(
          { queue, messageId, attempt: outcome.attempt, err: outcome.error },
          'handler failed; retrying',
        );
        if (outcome.delayMs > 0 && target.hasRetryQueue && target.retryQueue) {
          await publisher.publish(
            '',
            target.retryQueue,
            msg.content,
            { ...properties, headers: outcome.headers, expiration: String(outcome.delayMs) },
            timeout(),
          );
        } else {
          // Transient subscriptions have no retry queue; their messages die with them anyway.
          if (outcome.delayMs > 0)
            await new Promise((resolve) => setTimeout(resolve, outcome.delayMs));
          await publisher.publish(
            '',
            queue,
            msg.content,
            { ...properties, headers: outcome.headers },
            timeout(),
          );
        }
        metrics.retried(this.options.policy.name);
        return;
      }
      case 'dead-letter':
        logger.warn(
          { queue, messageId, attempt: outcome.attempt, reason: outcome.reason },
          'message dead-lettered',
        );
        await publisher.publish(
          target.deadLetterExchange,
          queue,
          msg.content,
          { ...properties, headers: outcome.headers },
          timeout(),
        );
        metrics.deadLettered(this.options.policy.name, outcome.cause);
        return;
    }
  }

  private ack(channel: Channel, msg: ConsumeMessage, queue: string, messageId: string): void {
    if (this.options.ackBatchMs > 0 && !this.cancelled) {
      const pending = this.pendingAcks.get(channel);
      if (pending) pending.push(msg);
      else this.pendingAcks.set(channel, [msg]);
      this.ackTimer ??= setTimeout(() => this.flushAcks(), this.options.ackBatchMs);
      return;
    }
    this.unsettled.get(channel)?.delete(msg.fields.deliveryTag);
    try {
      channel.ack(msg);
    } catch {
      // Channel gone: the broker requeues the delivery and it is processed again (at-least-once).
      this.options.logger.debug(
        { queue, messageId },
        'ack lost with its channel; the broker will redeliver',
      );
    }
  }

  /**
   * Sends the waiting acks: the ones below every delivery still being handled on their channel
   * as one ack with `multiple` (it acks every earlier tag), the rest one by one (same write).
   */
  private flushAcks(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    for (const [channel, msgs] of this.pendingAcks) {
      const tags = this.unsettled.get(channel) ?? new Set<number>();
      for (const m of msgs) tags.delete(m.fields.deliveryTag);
      let lowestBusy = Infinity;
      for (const tag of tags) lowestBusy = Math.min(lowestBusy, tag);
      let upTo: ConsumeMessage | undefined;
      const singles: ConsumeMessage[] = [];
      for (const m of msgs) {
        const tag = m.fields.deliveryTag;
        if (tag > lowestBusy) singles.push(m);
        else if (!upTo || tag > upTo.fields.deliveryTag) upTo = m;
      }
      try {
        if (upTo) channel.ack(upTo, true);
        for (const m of singles) channel.ack(m);
      } catch {
        // Channel gone: the broker requeues these deliveries and they are processed again.
        this.options.logger.debug(
          { consumer: this.options.label, acks: msgs.length },
          'acks lost with their channel; the broker will redeliver',
        );
      }
    }
    this.pendingAcks.clear();
  }

  private nack(channel: Channel, msg: ConsumeMessage): void {
    this.unsettled.get(channel)?.delete(msg.fields.deliveryTag);
    try {
      channel.nack(msg, false, true);
    } catch {
      // Channel gone: the broker requeues it anyway.
    }
  }
}
