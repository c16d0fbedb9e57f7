import type { Bus, QueueType } from '@conveyor/bus';
import { stepQueue } from '@conveyor/worker-sdk';
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Database } from '../store/tables';

/**
 * Per-queue backlog gauges for autoscalers that read Prometheus (an HPA on external metrics,
 * KEDA's Prometheus scaler) rather than the broker (KEDA's RabbitMQ scaler, see deploy/).
 *
 * The broker answers how many requests wait; only the database knows how long the oldest step
 * has been waiting for an answer, and it knows it for every replica at once. Both are read at
 * scrape time, at most once per `refreshMs`, so a scrape costs one `queue.declare(passive)` per
 * queue and one indexed query, however many replicas are scraped or how often.
 */
export interface QueueMetricsOptions {
  readonly registry: Registry;
  readonly bus: Bus;
  readonly db: Kysely<Database>;
  readonly queueType: QueueType;
  /** The step queues to report (every queue a loaded workflow names). */
  readonly queueNames: () => Iterable<string>;
  readonly logger: Logger;
  readonly refreshMs?: number;
}

interface QueueSample {
  readonly waiting: number;
  readonly deadLetters: number;
}

interface Snapshot {
  readonly at: number;
  readonly broker: ReadonlyMap<string, QueueSample>;
  readonly inFlight: ReadonlyMap<string, { readonly count: number; readonly oldestAt: number }>;
}

export const DEFAULT_QUEUE_METRICS_REFRESH_MS = 5_000;

export function registerQueueMetrics(options: QueueMetricsOptions): void {
  const refreshMs = options.refreshMs ?? DEFAULT_QUEUE_METRICS_REFRESH_MS;
  let snapshot: Snapshot | undefined;
  let pending: Promise<Snapshot | undefined> | undefined;

  const failures = new Counter({
    name: 'conveyor_queue_metrics_errors_total',
    help: 'Scrapes whose queue figures could not be read (broker or database unreachable)',
    labelNames: ['source'],
    registers: [options.registry],
  });

  async function read(): Promise<Snapshot | undefined> {
    const names = [...new Set(options.queueNames())].sort();
    const broker = new Map<string, QueueSample>();
    try {
      for (const name of names) {
        const queue = stepQueue(name, options.queueType);
        broker.set(name, {
          waiting: await options.bus.queueDepth(queue),
          deadLetters: await options.bus.deadLetterDepth(queue),
        });
      }
    } catch (error) {
      failures.inc({ source: 'broker' });
      options.logger.warn({ err: (error as Error).message }, 'queue depth could not be read');
      broker.clear();
    }
    const inFlight = new Map<string, { count: number; oldestAt: number }>();
    try {
      // `deadline_at IS NOT NULL` keeps this on the partial index of running tasks.
      const rows = await options.db
        .selectFrom('tasks')
        .select([
          'queue',
          sql<number>`count(*)`.as('count'),
          sql<number>`min(dispatched_at)`.as('oldest'),
        ])
        .where('deadline_at', 'is not', null)
        .where('status', '=', 'running')
        .where('kind', '=', 'queue')
        .groupBy('queue')
        .execute();
      for (const row of rows)
        if (row.queue !== null)
          inFlight.set(row.queue, { count: Number(row.count), oldestAt: Number(row.oldest) });
    } catch (error) {
      failures.inc({ source: 'database' });
      options.logger.warn({ err: (error as Error).message }, 'steps in flight could not be read');
      return undefined;
    }
    return { at: Date.now(), broker, inFlight };
  }

  /** One read at a time, shared by the four gauges of a scrape and by concurrent scrapes. */
  async function current(): Promise<Snapshot | undefined> {
    if (snapshot && Date.now() - snapshot.at < refreshMs) return snapshot;
    pending ??= read().finally(() => {
      pending = undefined;
    });
    snapshot = (await pending) ?? snapshot;
    return snapshot;
  }

  const gauge = (name: string, help: string, fill: (g: Gauge<'queue'>, s: Snapshot) => void) =>
    new Gauge({
      name,
      help,
      labelNames: ['queue'],
      registers: [options.registry],
      async collect() {
        const s = await current();
        this.reset();
        if (s) fill(this, s);
      },
    });

  gauge(
    'conveyor_queue_messages',
    'Step requests waiting in the broker queue, not yet delivered to a worker',
    (g, s) => {
      for (const [queue, v] of s.broker) g.set({ queue }, v.waiting);
    },
  );
  gauge(
    'conveyor_queue_dead_letters',
    "Messages in the queue's dead-letter queue (requests no worker could process)",
    (g, s) => {
      for (const [queue, v] of s.broker) g.set({ queue }, v.deadLetters);
    },
  );
  gauge(
    'conveyor_queue_steps_in_flight',
    'Steps dispatched to the queue and not yet answered, across every orchestrator replica',
    (g, s) => {
      for (const queue of options.queueNames()) g.set({ queue }, s.inFlight.get(queue)?.count ?? 0);
    },
  );
  gauge(
    'conveyor_queue_oldest_step_age_seconds',
    'Age of the oldest step dispatched to the queue and not yet answered (waiting or running); 0 when none',
    (g, s) => {
      for (const queue of options.queueNames()) {
        const oldestAt = s.inFlight.get(queue)?.oldestAt;
        g.set({ queue }, oldestAt === undefined ? 0 : Math.max(0, (s.at - oldestAt) / 1000));
      }
    },
  );
}
