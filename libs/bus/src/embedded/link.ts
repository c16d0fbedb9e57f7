import type { EmbeddedBroker } from './broker';
import type { DeliverFn, EmbeddedMessage } from './queue';

/** A consumer attached through a link. */
export interface LinkConsumer {
  /** Stops new deliveries, then resolves once every delivery handed out has been settled. */
  cancel(): Promise<void>;
}

/**
 * What an embedded bus needs from its broker. Asynchronous, so the broker may live in another
 * thread (see port-link.ts): the local stack runs each service in its own worker thread, and the
 * services still share one embedded broker. Every operation resolves once the broker applied it
 * (the embedded equivalent of a publisher confirm).
 */
export interface BrokerLink {
  /** Creates the queues that do not exist yet (queue.declare). */
  declare(names: readonly string[]): Promise<void>;
  enqueue(queue: string, message: EmbeddedMessage, delayMs?: number): Promise<void>;
  /** Routes an event; resolves with how many queues received it. */
  publish(exchange: string, message: EmbeddedMessage): Promise<number>;
  bind(exchange: string, pattern: string, queue: string): Promise<void>;
  unbind(exchange: string, pattern: string, queue: string): Promise<void>;
  deleteQueue(name: string): Promise<void>;
  depth(queue: string): Promise<number>;
  /** basic.get: removes and returns the oldest ready message. */
  take(queue: string): Promise<EmbeddedMessage | undefined>;
  consume(queue: string, prefetch: number, deliver: DeliverFn): Promise<LinkConsumer>;
}

/** A link to a broker in this thread: every call applies synchronously, before it returns. */
export function localBrokerLink(broker: EmbeddedBroker): BrokerLink {
  return {
    declare: async (names) => {
      for (const name of names) broker.queue(name);
    },
    enqueue: async (queue, message, delayMs = 0) => broker.enqueueAfter(queue, message, delayMs),
    publish: async (exchange, message) => broker.publish(exchange, message),
    bind: async (exchange, pattern, queue) => broker.bind(exchange, pattern, broker.queue(queue)),
    unbind: async (exchange, pattern, queue) =>
      broker.unbind(exchange, pattern, broker.queue(queue)),
    deleteQueue: async (name) => broker.deleteQueue(name),
    depth: async (queue) => broker.queue(queue).depth,
    take: async (queue) => broker.queue(queue).take(),
    consume: async (name, prefetch, deliver) => {
      const queue = broker.queue(name);
      const consumer = queue.addConsumer(prefetch, deliver);
      return {
        cancel: async () => {
          queue.removeConsumer(consumer);
          await consumer.idle();
        },
      };
    },
  };
}
