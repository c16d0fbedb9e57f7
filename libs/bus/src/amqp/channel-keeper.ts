import type { Channel, ChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { QueueTypeMismatchError } from '../errors';
import type { ManagedConnection } from './connection';

/**
 * 4xx channel errors (403 ACCESS_REFUSED, 404 NOT_FOUND, 405 RESOURCE_LOCKED, 406
 * PRECONDITION_FAILED) are the broker refusing what we asked: retrying the same setup cannot
 * succeed. Anything else (a lost connection, a busy broker) is worth retrying.
 */
export function isRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' && code >= 400 && code < 500;
}

type KeeperState = 'idle' | 'opening' | 'open' | 'stopped';

export interface ChannelKeeperOptions<C extends Channel> {
  readonly name: string;
  readonly connection: ManagedConnection;
  readonly logger: Logger;
  readonly open: (model: ChannelModel) => Promise<C>;
  /** Runs on every fresh channel before it counts as open (topology, prefetch, consume). */
  readonly setup?: (channel: C) => Promise<void>;
  /** Called once per lost channel (server close, connection loss). */
  readonly onLost?: (channel: C) => void;
  readonly backoff?: { initialDelayMs: number; maxDelayMs: number };
}

/**
 * Keeps exactly one channel alive on a connection: reopens it (and reruns setup) after a
 * server-closed channel or a reconnect. Every open attempt has an epoch; late events from an
 * older attempt are ignored, which is what prevents stacked duplicate consumers.
 */
export class ChannelKeeper<C extends Channel> {
  private state: KeeperState = 'idle';
  private channel: C | undefined;
  private epoch = 0;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastError: Error | undefined;
  private waiters: { resolve: (c: C) => void; reject: (e: Error) => void; failFast: boolean }[] =
    [];
  private readonly onConnect = () => this.kick();

  constructor(private readonly options: ChannelKeeperOptions<C>) {
    options.connection.on('connect', this.onConnect);
  }

  get current(): C | undefined {
    return this.state === 'open' ? this.channel : undefined;
  }

  get lastErrorMessage(): string | undefined {
    return this.lastError?.message;
  }

  /** Opens the channel if it is not open or opening. Safe to call any number of times. */
  kick(): void {
    if (this.state !== 'idle') return;
    const model = this.options.connection.current;
    if (!model) return; // the 'connect' listener kicks again
    void this.openWith(model);
  }

  /**
   * Resolves with the open channel; rejects if it is not open by the deadline. With
   * `failFast`, also rejects when the broker refuses the setup (e.g. a precondition error).
   */
  waitOpen(timeoutMs: number, failFast = false): Promise<C> {
    const open = this.current;
    if (open) return Promise.resolve(open);
    if (this.state === 'stopped')
      return Promise.reject(new Error(`channel ${this.options.name} is stopped`));
    return new Promise<C>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const why = this.options.connection.isConnected
          ? (this.lastError?.message ?? 'channel not open yet')
          : `not connected to the broker (${this.options.connection.lastErrorMessage ?? 'reconnecting'})`;
        reject(new Error(`channel ${this.options.name} not open within ${timeoutMs} ms: ${why}`));
      }, timeoutMs);
      const waiter = {
        resolve: (c: C) => {
          clearTimeout(timer);
          resolve(c);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
        failFast,
      };
      this.waiters.push(waiter);
      this.kick();
    });
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    this.epoch += 1;
    clearTimeout(this.retryTimer);
    this.options.connection.off('connect', this.onConnect);
    const channel = this.channel;
    this.channel = undefined;
    for (const w of this.waiters.splice(0))
      w.reject(new Error(`channel ${this.options.name} stopped`));
    if (channel) await channel.close().catch(() => undefined);
  }

  private async openWith(model: ChannelModel): Promise<void> {
    const epoch = ++this.epoch;
    this.state = 'opening';
    let channel: C | undefined;
    let serverError: Error | undefined;
    try {
      channel = await this.options.open(model);
      const opened = channel;
      // Without an 'error' listener a server-closed channel would crash the process.
      opened.on('error', (err: Error) => {
        serverError = err;
        this.lastError = err;
        this.options.logger.warn({ channel: this.options.name, err: err.message }, 'channel error');
      });
      opened.on('close', () => this.onClose(opened, epoch));
      if (epoch !== this.epoch) throw new Error('superseded');
      this.channel = opened;
      await this.options.setup?.(opened);
      if (epoch !== this.epoch) throw new Error('superseded');
      this.state = 'open';
      this.failures = 0;
      this.options.logger.debug({ channel: this.options.name }, 'channel open');
      for (const w of this.waiters.splice(0)) w.resolve(opened);
    } catch (err) {
      const thrown = err instanceof Error ? err : new Error(String(err));
      // A pending RPC only learns "Channel ended"; the 'error' event has the broker's reason.
      // A type mismatch was already worked out from that reason (topology.ts): keep it.
      const error = thrown instanceof QueueTypeMismatchError ? thrown : (serverError ?? thrown);
      if (epoch !== this.epoch) {
        await channel?.close().catch(() => undefined);
        return;
      }
      this.lastError = error;
      this.channel = undefined;
      this.state = 'idle';
      await channel?.close().catch(() => undefined);
      this.options.logger.warn(
        { channel: this.options.name, err: error.message },
        'could not open channel; will retry',
      );
      if (isRefusal(error) || isRefusal(thrown)) {
        const failing = this.waiters.filter((w) => w.failFast);
        this.waiters = this.waiters.filter((w) => !w.failFast);
        for (const w of failing) w.reject(error);
      }
      this.scheduleRetry();
    }
  }

  private onClose(channel: C, epoch: number): void {
    if (epoch !== this.epoch || this.channel !== channel) return;
    this.channel = undefined;
    if (this.state === 'stopped') return;
    this.state = 'idle';
    this.options.onLost?.(channel);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.state === 'stopped' || this.retryTimer) return;
    const backoff = this.options.backoff ?? { initialDelayMs: 100, maxDelayMs: 5000 };
    const base = Math.min(backoff.maxDelayMs, backoff.initialDelayMs * 2 ** this.failures);
    this.failures += 1;
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, delay);
    this.retryTimer.unref();
  }
}
