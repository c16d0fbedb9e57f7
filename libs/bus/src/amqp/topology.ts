import type { Channel } from 'amqplib';
import { topologyNames, type QueueDefinition, type QueueType } from '../definitions';

/**
 * Redeliveries of one message the broker tolerates (consumer crashed or lost its connection
 * before acking) before dead-lettering it. Independent of maxAttempts: handler failures are
 * counted by the bus's own attempt header, and queue arguments cannot change after declaration,
 * so this must not vary with a definition's settings.
 */
export const DELIVERY_LIMIT = 10;

export function quorumQueueArguments(queue: string): Record<string, unknown> {
  return {
    'x-queue-type': 'quorum',
    'x-delivery-limit': DELIVERY_LIMIT,
    'x-dead-letter-exchange': topologyNames.deadLetterExchange(queue),
    // at-least-once dead-lettering (RabbitMQ ≥ 3.10) needs reject-publish overflow.
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  };
}

/**
 * Classic queues have no delivery limit (and no at-least-once dead-lettering strategy): the
 * bus's consumer counts redeliveries in the attempt header instead (delivery.ts).
 */
export function classicQueueArguments(queue: string): Record<string, unknown> {
  return {
    'x-queue-type': 'classic',
    'x-dead-letter-exchange': topologyNames.deadLetterExchange(queue),
  };
}

/** The arguments a queue of this type is declared with — part of the wire contract. */
export function queueArguments(queue: string, type: QueueType): Record<string, unknown> {
  return type === 'classic' ? classicQueueArguments(queue) : quorumQueueArguments(queue);
}

async function declareDeadLetters(
  channel: Channel,
  exchange: string,
  queue: string,
): Promise<void> {
  await channel.assertExchange(exchange, 'fanout', { durable: true });
  await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(queue, exchange, '');
}

/**
 * queue, queue.dlx → queue.dlq, and queue.retry when the definition delays retries. The DLQ is
 * quorum whatever the queue's type: dead letters are rare and are what an operator must not
 * lose, and a queue can change type (delete and re-declare it) without touching its DLQ.
 */
export async function declareQueueTopology(
  channel: Channel,
  queue: Pick<QueueDefinition<unknown>, 'name' | 'retryDelayMs' | 'queueType'>,
): Promise<void> {
  await declareDeadLetters(
    channel,
    topologyNames.deadLetterExchange(queue.name),
    topologyNames.deadLetterQueue(queue.name),
  );
  await channel.assertQueue(queue.name, {
    durable: true,
    arguments: queueArguments(queue.name, queue.queueType),
  });
  if (queue.retryDelayMs > 0) {
    // Classic, not quorum: RabbitMQ 3.10 quorum queues have no per-message TTL. Messages wait
    // here for their `expiration`, then dead-letter through the default exchange to the queue.
    await channel.assertQueue(topologyNames.retryQueue(queue.name), {
      durable: true,
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue.name },
    });
  }
}

export async function declareTopic(channel: Channel, exchange: string): Promise<void> {
  await channel.assertExchange(exchange, 'topic', { durable: true });
}

export async function declareTopicDeadLetters(channel: Channel, exchange: string): Promise<void> {
  await declareDeadLetters(
    channel,
    topologyNames.topicDeadLetterExchange(exchange),
    topologyNames.topicDeadLetterQueue(exchange),
  );
}
