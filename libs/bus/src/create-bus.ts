import type { MessagePort } from 'node:worker_threads';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { connectAmqpBus } from './amqp/bus';
import { redactUrl } from './amqp/connection';
import { defaultEmbeddedBroker, type EmbeddedBroker } from './embedded/broker';
import { EmbeddedBus } from './embedded/bus';
import { localBrokerLink, type BrokerLink } from './embedded/link';
import { portBrokerLink } from './embedded/port-link';
import { createBusMetrics, noMetrics } from './metrics';
import type { Bus } from './transport';

export interface CreateBusOptions {
  /** amqp:// or amqps:// broker URL; unset → the embedded in-process transport. */
  url?: string;
  logger?: Logger;
  /**
   * Shown by `rabbitmqctl list_connections name client_properties` (as `<name>/publish` and
   * `<name>/consume`), so operators and tests can find, and close, exactly this bus's connections.
   */
  connectionName?: string;
  /** Registers conveyor_bus_* metrics here (usually the service's observability registry). */
  registry?: Registry;
  /** How long a publish may wait for a broker confirm, across reconnects (default 30 s). */
  publishTimeoutMs?: number;
  /** How long createBus waits for the first connection before failing (default 15 s). */
  connectTimeoutMs?: number;
  /** Reconnect backoff: first delay and cap (default 100 ms → 5 s, ×2 per attempt, ±20 % jitter). */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** AMQP heartbeat interval (default 15 s; a `heartbeat` query parameter in the URL wins). */
  heartbeatSeconds?: number;
  /** Embedded transport only: an isolated broker (tests); default is one shared per process. */
  embeddedBroker?: EmbeddedBroker;
}

let threadBrokerLink: BrokerLink | undefined;

/**
 * Makes every embedded bus created afterwards in this thread (without its own `embeddedBroker`)
 * use the broker served through `port` by serveEmbeddedBroker in another thread, instead of this
 * thread's own: services in separate worker threads then share one embedded broker.
 */
export function joinEmbeddedBroker(port: MessagePort): void {
  threadBrokerLink = portBrokerLink(port);
}

/** RabbitMQ when a URL is given, the embedded in-process transport otherwise. */
export async function createBus(options: CreateBusOptions = {}): Promise<Bus> {
  const logger = (
    options.logger ?? pino({ name: 'bus', level: process.env['LOG_LEVEL'] ?? 'info' })
  ).child({
    component: 'bus',
  });
  if (options.url === undefined || options.url === '') {
    const metrics = options.registry ? createBusMetrics(options.registry, 'embedded') : noMetrics;
    const link = options.embeddedBroker
      ? localBrokerLink(options.embeddedBroker)
      : (threadBrokerLink ?? localBrokerLink(defaultEmbeddedBroker()));
    return new EmbeddedBus(link, logger, metrics);
  }
  if (!/^amqps?:\/\//.test(options.url)) {
    // Caught here: amqplib would retry a hopeless URL until the connect timeout.
    throw new Error(
      `AMQP_URL must be an amqp:// or amqps:// URL (e.g. amqp://guest:guest@127.0.0.1:5672), got ${JSON.stringify(redactUrl(options.url))}; leave it unset for the embedded bus`,
    );
  }
  const metrics = options.registry ? createBusMetrics(options.registry, 'amqp') : noMetrics;
  return connectAmqpBus({ ...options, url: options.url, logger, metrics });
}
