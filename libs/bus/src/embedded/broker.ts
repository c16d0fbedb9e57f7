import { topicMatches } from '../topic-pattern';
import { EmbeddedQueue, type EmbeddedMessage } from './queue';

interface Binding {
  readonly pattern: string;
  readonly queue: EmbeddedQueue;
}

/**
 * The in-process stand-in for RabbitMQ: named queues and topic exchanges that outlive any one
 * bus (like a broker outlives connections), so services started in one process share it.
 */
export class EmbeddedBroker {
  private readonly queues = new Map<string, EmbeddedQueue>();
  private readonly bindings = new Map<string, Binding[]>();

  /** Returns the queue, creating it on first use (queue.declare is idempotent). */
  queue(name: string): EmbeddedQueue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new EmbeddedQueue(name);
      this.queues.set(name, queue);
    }
    return queue;
  }

  hasQueue(name: string): boolean {
    return this.queues.has(name);
  }

  deleteQueue(name: string): void {
    const queue = this.queues.get(name);
    if (!queue) return;
    this.queues.delete(name);
    for (const [exchange, list] of this.bindings) {
      this.bindings.set(
        exchange,
        list.filter((b) => b.queue !== queue),
      );
    }
  }

  bind(exchange: string, pattern: string, queue: EmbeddedQueue): void {
    const list = this.bindings.get(exchange) ?? [];
    if (!list.some((b) => b.queue === queue && b.pattern === pattern))
      list.push({ pattern, queue });
    this.bindings.set(exchange, list);
  }

  unbind(exchange: string, pattern: string, queue: EmbeddedQueue): void {
    const list = this.bindings.get(exchange) ?? [];
    this.bindings.set(
      exchange,
      list.filter((b) => !(b.queue === queue && b.pattern === pattern)),
    );
  }

  /** Routes an event to every bound queue whose pattern matches, once per queue. */
  publish(exchange: string, message: EmbeddedMessage): number {
    const targets = new Set<EmbeddedQueue>();
    for (const binding of this.bindings.get(exchange) ?? []) {
      if (topicMatches(binding.pattern, message.routingKey)) targets.add(binding.queue);
    }
    for (const queue of targets) queue.enqueue(message);
    return targets.size;
  }

  /**
   * Delivers to a queue after a delay (the embedded retry queue). The timer is unref'd: an
   * in-memory broker loses its messages on exit anyway, so it must not keep the process alive.
   */
  enqueueAfter(queueName: string, message: EmbeddedMessage, delayMs: number): void {
    if (delayMs <= 0) {
      this.queue(queueName).enqueue(message);
      return;
    }
    setTimeout(() => {
      if (this.queues.has(queueName)) this.queue(queueName).enqueue(message);
    }, delayMs).unref();
  }
}

let processBroker: EmbeddedBroker | undefined;

/** The process-wide broker every embedded bus uses unless given its own (local all-in-one mode). */
export function defaultEmbeddedBroker(): EmbeddedBroker {
  processBroker ??= new EmbeddedBroker();
  return processBroker;
}

export function createEmbeddedBroker(): EmbeddedBroker {
  return new EmbeddedBroker();
}
