import type { Channel } from 'amqplib';
import { topologyNames, type QueueDefinition } from '../definitions';

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

async function declareDeadLetters(
  channel: Channel,
  exchange: string,
  queue: string,
): Promise<void> {
  await channel.assertExchange(exchange, 'fanout', { durable: true });
  await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(queue, exchange, '');
}

/** queue, queue.dlx → queue.dlq, and queue.retry when the definition delays retries. */
export async function declareQueueTopology(
  channel: Channel,
  queue: Pick<QueueDefinition<unknown>, 'name' | 'retryDelayMs'>,
): Promise<void> {
  await declareDeadLetters(
    channel,
    topologyNames.deadLetterExchange(queue.name),
    topologyNames.deadLetterQueue(queue.name),
  );
  await channel.assertQueue(queue.name, {
    durable: true,
    arguments: quorumQueueArguments(queue.name),
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
