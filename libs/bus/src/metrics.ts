import { Counter, Histogram, type Registry } from 'prom-client';

export type BusTransportKind = 'amqp' | 'embedded';

/** Counters both transports update; absent (no-op) when createBus got no registry. */
export interface BusMetrics {
  published(destination: string): void;
  consumed(queue: string): void;
  acked(queue: string): void;
  retried(queue: string): void;
  deadLettered(queue: string, cause: string): void;
  reconnected(connection: string): void;
  confirmLatency(seconds: number): void;
}

export const noMetrics: BusMetrics = {
  published: () => undefined,
  consumed: () => undefined,
  acked: () => undefined,
  retried: () => undefined,
  deadLettered: () => undefined,
  reconnected: () => undefined,
  confirmLatency: () => undefined,
};

/**
 * Registers the bus metrics. Several buses may share one registry (e.g. the all-in-one local
 * launcher), so existing metrics are reused instead of registered twice.
 */
export function createBusMetrics(registry: Registry, transport: BusTransportKind): BusMetrics {
  const counter = (name: string, help: string, labelNames: string[]) =>
    (registry.getSingleMetric(name) as Counter<string> | undefined) ??
    new Counter({ name, help, labelNames: ['transport', ...labelNames], registers: [registry] });
  const published = counter('conveyor_bus_published_total', 'Messages confirmed by the broker', [
    'destination',
  ]);
  const consumed = counter('conveyor_bus_consumed_total', 'Deliveries handed to a handler', [
    'queue',
  ]);
  const acked = counter('conveyor_bus_acked_total', 'Deliveries acknowledged after success', [
    'queue',
  ]);
  const retried = counter(
    'conveyor_bus_retried_total',
    'Failed deliveries scheduled for another attempt',
    ['queue'],
  );
  const deadLettered = counter(
    'conveyor_bus_dead_lettered_total',
    'Messages sent to a dead-letter queue',
    ['queue', 'cause'],
  );
  const reconnects = counter(
    'conveyor_bus_reconnects_total',
    'Connections re-established after a loss',
    ['connection'],
  );
  const latency =
    (registry.getSingleMetric('conveyor_bus_publish_confirm_seconds') as
      Histogram<string> | undefined) ??
    new Histogram({
      name: 'conveyor_bus_publish_confirm_seconds',
      help: 'Time from publish to broker confirm, including waits for a reconnect',
      labelNames: ['transport'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30],
      registers: [registry],
    });
  return {
    published: (destination) => published.inc({ transport, destination }),
    consumed: (queue) => consumed.inc({ transport, queue }),
    acked: (queue) => acked.inc({ transport, queue }),
    retried: (queue) => retried.inc({ transport, queue }),
    deadLettered: (queue, cause) => deadLettered.inc({ transport, queue, cause }),
    reconnected: (connection) => reconnects.inc({ transport, connection }),
    confirmLatency: (seconds) => latency.observe({ transport }, seconds),
  };
}
