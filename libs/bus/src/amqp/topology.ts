import type { Channel } from 'amqplib';
import { topologyNames, type QueueDefinition, type QueueType } from '../definitions';
import { QueueTypeMismatchError } from '../errors';

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

/**
 * Opens a throw-away channel (a refused declaration closes the channel it was made on). Used only
 * after a declaration was refused, to find out what the existing queue is.
 */
export type QueueTypeProbe = () => Promise<Channel>;

const PRECONDITION_FAILED = 406;

/**
 * RabbitMQ names the first inequivalent argument it meets (often x-dead-letter-exchange or
 * x-overflow, rarely x-queue-type), so its message does not tell a type mismatch from other
 * drift. The existing queue's type is found by re-declaring it with exactly the other type's
 * arguments: equivalent → a no-op that proves the type; refused → some other difference, and the
 * broker's own message is the best explanation. (The queue exists — the broker just compared
 * against it — so the probe does not create one, short of a concurrent delete.)
 */
async function explainRefusal(
  err: unknown,
  queue: string,
  asked: QueueType,
  probe: QueueTypeProbe | undefined,
): Promise<unknown> {
  if ((err as { code?: unknown }).code !== PRECONDITION_FAILED || !probe) return err;
  const other: QueueType = asked === 'classic' ? 'quorum' : 'classic';
  let channel: Channel | undefined;
  try {
    channel = await probe();
    channel.on('error', () => undefined); // a refusal closes it; the rejection below says enough
    await channel.checkQueue(queue);
    await channel.assertQueue(queue, { durable: true, arguments: queueArguments(queue, other) });
  } catch {
    return err;
  } finally {
    await channel?.close().catch(() => undefined);
  }
  return new QueueTypeMismatchError(queue, other, asked, undefined, { cause: err });
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
  probe?: QueueTypeProbe,
): Promise<void> {
  await declareDeadLetters(
    channel,
    topologyNames.deadLetterExchange(queue.name),
    topologyNames.deadLetterQueue(queue.name),
  );
  try {
    await channel.assertQueue(queue.name, {
      durable: true,
      arguments: queueArguments(queue.name, queue.queueType),
    });
  } catch (err) {
    throw await explainRefusal(err, queue.name, queue.queueType, probe);
  }
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
