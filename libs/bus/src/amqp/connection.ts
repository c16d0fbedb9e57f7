import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import { connect, type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import type { BusMetrics } from '../metrics';

export interface ReconnectPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
}

/** amqp://guest:***@host:5672/ — URLs end up in logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

/**
 * amqplib writes every frame to the socket on its own — a publish is three frames, an ack or a
 * confirm one — so each is a write system call: ~12 % of a busy orchestrator's CPU (issue 20).
 * Corked until the end of the current tick, the frames written in one tick leave in one
 * writev. Nothing waits longer than the tick that wrote it (Node's documented cork pattern).
 * (Uncorking on setImmediate instead, to gather a whole turn of the event loop, cost both the
 * orchestrator and the workers more CPU per step on one chain at a time: measured 7 Dec.)
 */
function coalesceWrites(model: ChannelModel): void {
  const socket = (model as unknown as { connection?: { stream?: unknown } }).connection?.stream;
  if (!(socket instanceof Socket)) return;
  const write = socket.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = function (this: Socket, ...args: Parameters<Socket['write']>): boolean {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args);
  } as Socket['write'];
}

/**
 * One broker connection that reconnects itself. amqplib's recovering connection does the
 * backoff-with-jitter reconnects; what it cannot know — which channels, topology and consumers
 * to rebuild — is left to the ChannelKeepers listening to 'connect'.
 */
export class ManagedConnection extends EventEmitter {
  private model: ChannelModel | undefined;
  private connectedOnce = false;
  private lastError: Error | undefined;
  private closing = false;

  private constructor(
    private readonly recovering: RecoveringChannelModel,
    readonly name: string,
    private readonly logger: Logger,
    metrics: BusMetrics,
  ) {
    super();
    recovering.on('connect', (model) => {
      coalesceWrites(model);
      this.model = model;
      if (this.connectedOnce) {
        metrics.reconnected(name);
        this.logger.info({ connection: name }, 'reconnected to the broker');
      }
      this.connectedOnce = true;
      this.emit('connect', model);
    });
    recovering.on('disconnect', (err) => {
      this.model = undefined;
      this.lastError = err;
      if (!this.closing)
        this.logger.warn({ connection: name, err: err.message }, 'lost the broker connection');
      this.emit('disconnect', err);
    });
    recovering.on('connect-failed', (err) => {
      this.lastError = err;
      this.logger.debug({ connection: name, err: err.message }, 'connection attempt failed');
    });
    recovering.on('reconnect-scheduled', ({ attempt, delay }) =>
      this.logger.debug({ connection: name, attempt, delay }, 'reconnect scheduled'),
    );
    recovering.on('error', (err) => {
      this.lastError = err;
      // Also emitted for server-initiated closes; 'disconnect' follows and handles recovery.
      this.logger.debug({ connection: name, err: err.message }, 'connection error');
    });
    recovering.on('blocked', (reason) =>
      this.logger.warn({ connection: name, reason }, 'broker blocked publishing (resource alarm)'),
    );
    recovering.on('unblocked', () =>
      this.logger.info({ connection: name }, 'broker unblocked publishing'),
    );
  }

  static async open(options: {
    url: string;
    name: string;
    logger: Logger;
    metrics: BusMetrics;
    reconnect: ReconnectPolicy;
    timeoutMs: number;
  }): Promise<ManagedConnection> {
    const recovering = await connect(options.url, {
      clientProperties: { connection_name: options.name },
      // amqplib leaves Nagle's algorithm on: a publish is several small frames, and a write held
      // back until the previous one is ACKed can wait out the peer's delayed ACK (up to 40 ms on
      // Linux) — tail latency on every hop. Messages are small and latency is the point.
      noDelay: true,
      recovery: {
        initialDelay: options.reconnect.initialDelayMs,
        maxDelay: options.reconnect.maxDelayMs,
        factor: 2,
        jitter: 0.2,
        waitForConnect: false,
      },
    });
    const connection = new ManagedConnection(
      recovering,
      options.name,
      options.logger,
      options.metrics,
    );
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        recovering.waitForConnect(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), options.timeoutMs);
        }),
      ]);
    } catch {
      await recovering.close().catch(() => undefined);
      throw new Error(
        `cannot connect to RabbitMQ at ${redactUrl(options.url)} within ${options.timeoutMs} ms` +
          ` (last error: ${connection.lastError?.message ?? 'none'}); is the broker running and AMQP_URL right?`,
      );
    } finally {
      clearTimeout(timer);
    }
    return connection;
  }

  /** The live connection, or undefined while reconnecting. */
  get current(): ChannelModel | undefined {
    return this.model;
  }

  get isConnected(): boolean {
    return this.model !== undefined;
  }

  get lastErrorMessage(): string | undefined {
    return this.lastError?.message;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.recovering.close();
    this.model = undefined;
  }
}
