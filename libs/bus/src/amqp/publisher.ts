import type { ConfirmChannel, Message, Options } from 'amqplib';
import type { Logger } from 'pino';
import { PublishTimeoutError } from '../errors';
import type { BusMetrics } from '../metrics';
import { ChannelKeeper } from './channel-keeper';
import type { ManagedConnection } from './connection';

interface Outgoing {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish & { messageId: string };
  readonly startedAt: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
  /** Application publishes count in the metrics; retry and dead-letter copies do not. */
  readonly countAs: string | undefined;
  /** Set: a return means nobody listens (an event), not a missing queue to re-create. */
  readonly onReturned: (() => void) | undefined;
  settled: boolean;
  lastError?: string;
}

function describe(item: Pick<Outgoing, 'exchange' | 'routingKey'>): string {
  return item.exchange === ''
    ? `queue ${item.routingKey}`
    : `exchange ${item.exchange} (${item.routingKey})`;
}

/**
 * Publishes on a confirm channel and owns every message until the broker confirms it: messages
 * sent on a channel that dies, or nacked, go back to the outbox and are resent on the next
 * channel, until confirmed or their deadline passes (then the caller's promise rejects).
 * Resending can duplicate a message the broker had already taken: delivery is at-least-once.
 */
export class ConfirmPublisher {
  private readonly keeper: ChannelKeeper<ConfirmChannel>;
  private outbox: Outgoing[] = [];
  private readonly unconfirmed = new Set<Outgoing>();
  /** Message ids the broker returned as unroutable (mandatory publishes to a missing queue). */
  private readonly returned = new Set<string>();
  private waitingForDrain: ConfirmChannel | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly idleWaiters: (() => void)[] = [];

  /**
   * @param redeclare re-creates the topology this bus has used (run on every new confirm
   *   channel and after an unroutable return), so resent messages find their queues again
   *   after a broker restart or an operator deleting a queue or exchange.
   */
  constructor(
    private readonly connection: ManagedConnection,
    private readonly logger: Logger,
    private readonly metrics: BusMetrics,
    private readonly redeclare: (unroutableQueue?: string) => Promise<void>,
  ) {
    this.keeper = new ChannelKeeper<ConfirmChannel>({
      name: `${connection.name}#confirm`,
      connection,
      logger,
      open: (model) => model.createConfirmChannel(),
      setup: async (channel) => {
        channel.on('return', (msg: Message) => {
          const id = msg.properties.messageId as unknown;
          if (typeof id === 'string') this.returned.add(id);
        });
        this.waitingForDrain = undefined;
        await this.redeclare();
        // Flush after setup resolves: the keeper marks the channel open first.
        setImmediate(() => this.flush());
      },
    });
    this.keeper.kick();
  }

  get pending(): number {
    return this.outbox.length + this.unconfirmed.size;
  }

  publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish & { messageId: string },
    /**
     * Absolute deadline (Date.now() ms), the configured timeout it came from (for the error) and,
     * for application publishes, the destination to count it under.
     */
    timeout: { deadline: number; timeoutMs: number; countAs?: string; onReturned?: () => void },
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const item: Outgoing = {
        exchange,
        routingKey,
        content,
        options,
        startedAt: performance.now(),
        resolve,
        reject,
        settled: false,
        countAs: timeout.countAs,
        onReturned: timeout.onReturned,
        timer: setTimeout(
          () => this.expire(item, timeout.timeoutMs),
          Math.max(0, timeout.deadline - Date.now()),
        ),
      };
      this.outbox.push(item);
      this.flush();
    });
  }

  /** Resolves when every publish so far is confirmed or has failed (their deadlines bound it). */
  async idle(): Promise<void> {
    if (this.pending === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    clearTimeout(this.retryTimer);
    await this.keeper.stop();
  }

  private flush(): void {
    const channel = this.keeper.current;
    if (!channel || this.waitingForDrain === channel) return;
    while (this.outbox.length > 0) {
      const item = this.outbox.shift() as Outgoing;
      if (item.settled) continue;
      this.unconfirmed.add(item);
      let accepted: boolean;
      try {
        accepted = channel.publish(
          item.exchange,
          item.routingKey,
          item.content,
          item.options,
          (err: unknown) => this.onConfirm(item, err),
        );
      } catch (err) {
        // The channel closed under us (IllegalOperationError): keep the message for the next one.
        this.unconfirmed.delete(item);
        item.lastError = err instanceof Error ? err.message : String(err);
        this.outbox.unshift(item);
        return;
      }
      if (!accepted) {
        // Socket buffer full: amqplib keeps this message, but more would only pile up in memory.
        this.waitingForDrain = channel;
        channel.once('drain', () => {
          if (this.waitingForDrain === channel) this.waitingForDrain = undefined;
          this.flush();
        });
        return;
      }
    }
  }

  private onConfirm(item: Outgoing, err: unknown): void {
    this.unconfirmed.delete(item);
    const wasReturned = this.returned.delete(item.options.messageId);
    if (item.settled) return this.checkIdle();
    if (!err && wasReturned && item.onReturned) {
      this.settle(item);
      item.onReturned();
      item.resolve();
      return;
    }
    if (!err && wasReturned) {
      // Its queue is gone (deleted by hand, or lost in a broker reset): re-create, then resend.
      item.lastError = `${describe(item)} did not exist: the broker returned the message as unroutable`;
      this.outbox.push(item);
      this.logger.warn(
        { to: describe(item) },
        'publish returned unroutable; re-declaring topology and resending',
      );
      this.redeclare(item.exchange === '' ? item.routingKey : undefined)
        .catch((e: unknown) => this.logger.warn({ err: String(e) }, 're-declaring topology failed'))
        .finally(() => this.scheduleFlush());
      return;
    }
    if (!err) {
      this.settle(item);
      if (item.countAs !== undefined) {
        this.metrics.published(item.countAs);
        this.metrics.confirmLatency((performance.now() - item.startedAt) / 1000);
      }
      item.resolve();
      return;
    }
    // Nacked, or the channel closed before the confirm: send it again on the next good channel.
    item.lastError = err instanceof Error ? err.message : String(err);
    this.outbox.push(item);
    this.logger.debug(
      { to: describe(item), err: item.lastError },
      'publish not confirmed; will resend',
    );
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.flush();
    }, 50);
  }

  private expire(item: Outgoing, timeoutMs: number): void {
    if (item.settled) return;
    this.settle(item);
    this.outbox = this.outbox.filter((o) => o !== item);
    const state = this.keeper.current
      ? 'the broker did not confirm it'
      : `not connected to the broker (${this.connection.lastErrorMessage ?? 'reconnecting'})`;
    const last = item.lastError ? `; last error: ${item.lastError}` : '';
    item.reject(
      new PublishTimeoutError(
        `publish to ${describe(item)} not confirmed within ${timeoutMs} ms: ${state}${last}. ` +
          'It may or may not have been delivered; retry it if the operation is idempotent.',
      ),
    );
  }

  private settle(item: Outgoing): void {
    item.settled = true;
    clearTimeout(item.timer);
    this.checkIdle();
  }

  private checkIdle(): void {
    // Called on every confirm: scanning every message in flight only matters to a waiter.
    if (this.idleWaiters.length === 0) return;
    const live =
      this.outbox.some((o) => !o.settled) || [...this.unconfirmed].some((o) => !o.settled);
    if (!live) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
