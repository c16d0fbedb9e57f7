import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { z } from 'zod';
import {
  createBus,
  createEmbeddedBroker,
  defineQueue,
  type Bus,
  type QueueDefinition,
} from '@conveyor/bus';

export const BenchMessage = z.object({
  type: z.literal('bench.message'),
  version: z.literal(1),
  seq: z.number().int(),
  sentAt: z.number(),
  payload: z.string(),
});
export type BenchMessage = z.infer<typeof BenchMessage>;

/** `amqp`: RabbitMQ with quorum queues (the default); `amqp-classic`: durable classic queues. */
export type TransportName = 'embedded' | 'amqp' | 'amqp-classic';

export interface BenchConfig {
  /** Sequential publish → handler round trips per round. */
  roundTrips: number;
  /** Messages per throughput round. */
  messages: number;
  /** Publishes awaiting their confirm at once in the throughput test. */
  window: number;
  prefetch: number;
  payloadBytes: number;
  amqpUrl: string;
  queuePrefix: string;
}

export interface RoundResult {
  transport: TransportName;
  /** Round-trip latency samples (ms): publish call → handler entered. */
  latencyMs: number[];
  /** Throughput: messages / s from the first publish to the last handler completion. */
  endToEndPerSec: number;
  /** Confirmed publishes / s (publish promises resolved), same run. */
  publishPerSec: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return NaN;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function makeBus(transport: TransportName, config: BenchConfig): Promise<Bus> {
  const logger = pino({ level: 'warn' });
  if (transport === 'embedded')
    return createBus({ embeddedBroker: createEmbeddedBroker(), logger });
  return createBus({ url: config.amqpUrl, logger, connectionName: `${config.queuePrefix}-bench` });
}

/** Deletes the bench queue and its dead-letter topology (AMQP) so runs leave nothing behind. */
async function dropQueue(
  bus: Bus,
  transport: TransportName,
  queue: QueueDefinition<unknown>,
  url: string,
) {
  if (transport === 'embedded') return;
  const conn = await connect(url);
  try {
    const ch = await conn.createChannel();
    await ch.deleteQueue(queue.name);
    await ch.deleteQueue(`${queue.name}.dlq`);
    await ch.deleteExchange(`${queue.name}.dlx`);
    await ch.close();
  } finally {
    await conn.close();
  }
}

/** One round on one transport: latency first (idle queue), then throughput. */
export async function runRound(
  transport: TransportName,
  config: BenchConfig,
): Promise<RoundResult> {
  const bus = await makeBus(transport, config);
  const queue = defineQueue({
    name: `${config.queuePrefix}.${transport}.${randomUUID().slice(0, 8)}`,
    schema: BenchMessage,
    queueType: transport === 'amqp-classic' ? 'classic' : 'quorum',
  });
  const payload = 'x'.repeat(config.payloadBytes);
  try {
    // Latency: one message in flight at a time.
    const latencyMs: number[] = [];
    let arrived: (() => void) | undefined;
    const latencySub = await bus.consume(queue, async ({ message }) => {
      latencyMs.push(performance.now() - message.sentAt);
      arrived?.();
    });
    for (let seq = 0; seq < config.roundTrips; seq++) {
      const got = new Promise<void>((resolve) => (arrived = resolve));
      await bus.publish(queue, {
        type: 'bench.message',
        version: 1,
        seq,
        sentAt: performance.now(),
        payload,
      });
      await got;
    }
    await latencySub.cancel();

    // Throughput: a window of unconfirmed publishes, a consumer with `prefetch`.
    let handled = 0;
    let allHandled: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (allHandled = resolve));
    const sub = await bus.consume(
      queue,
      async () => {
        handled += 1;
        if (handled === config.messages) allHandled();
      },
      { prefetch: config.prefetch },
    );
    const start = performance.now();
    const inFlight = new Set<Promise<void>>();
    for (let seq = 0; seq < config.messages; seq++) {
      const p = bus
        .publish(queue, {
          type: 'bench.message',
          version: 1,
          seq,
          sentAt: performance.now(),
          payload,
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= config.window) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    const published = performance.now();
    await done;
    const finished = performance.now();
    await sub.cancel();
    return {
      transport,
      latencyMs,
      publishPerSec: config.messages / ((published - start) / 1000),
      endToEndPerSec: config.messages / ((finished - start) / 1000),
    };
  } finally {
    await dropQueue(bus, transport, queue, config.amqpUrl).catch(() => undefined);
    await bus.close();
  }
}
