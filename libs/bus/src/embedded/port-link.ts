import type { MessagePort } from 'node:worker_threads';
import type { EmbeddedBroker } from './broker';
import { localBrokerLink, type BrokerLink, type LinkConsumer } from './link';
import type { DeliverFn, EmbeddedMessage } from './queue';

/*
 * The embedded broker across worker threads: one thread hosts the broker
 * (serveEmbeddedBroker), the others reach it through a MessagePort (portBrokerLink). Requests
 * carry an id and are answered in order; deliveries go to the consuming thread, which runs the
 * bus's own decision (decode → validate → handler → ack / retry / dead-letter) and then settles
 * them, so a consumer's prefetch is counted by the broker exactly as in one thread.
 */

type Operation =
  | { op: 'declare'; names: readonly string[] }
  | { op: 'enqueue'; queue: string; message: EmbeddedMessage; delayMs: number }
  | { op: 'publish'; exchange: string; message: EmbeddedMessage }
  | { op: 'bind' | 'unbind'; exchange: string; pattern: string; queue: string }
  | { op: 'deleteQueue'; name: string }
  | { op: 'depth' | 'take'; queue: string }
  | { op: 'consume'; queue: string; prefetch: number; consumer: number }
  | { op: 'cancel'; consumer: number };

type ToBroker =
  ({ kind: 'request'; id: number } & Operation) | { kind: 'settled'; delivery: number };

type FromBroker =
  | { kind: 'reply'; id: number; result?: unknown; error?: string }
  | { kind: 'deliver'; consumer: number; delivery: number; message: EmbeddedMessage };

/** Structured clone turns a Buffer into a plain Uint8Array; the bus decodes Buffers. */
function revive(message: EmbeddedMessage): EmbeddedMessage {
  const body = message.body as Uint8Array;
  return Buffer.isBuffer(body)
    ? message
    : { ...message, body: Buffer.from(body.buffer, body.byteOffset, body.byteLength) };
}

/**
 * Serves `broker` to the thread at the other end of `port` until the port closes. When it
 * closes (the thread stopped or died), its consumers are removed and the deliveries it had not
 * settled go back to their queues, as RabbitMQ requeues a lost connection's unacked messages.
 */
export function serveEmbeddedBroker(port: MessagePort, broker: EmbeddedBroker): void {
  const local = localBrokerLink(broker);
  const consumers = new Map<number, LinkConsumer>();
  const unsettled = new Map<number, { queue: string; message: EmbeddedMessage; settle(): void }>();
  let nextDelivery = 1;
  let open = true;

  const run = async (request: Operation): Promise<unknown> => {
    switch (request.op) {
      case 'declare':
        return local.declare(request.names);
      case 'enqueue':
        return local.enqueue(request.queue, revive(request.message), request.delayMs);
      case 'publish':
        return local.publish(request.exchange, revive(request.message));
      case 'bind':
        return local.bind(request.exchange, request.pattern, request.queue);
      case 'unbind':
        return local.unbind(request.exchange, request.pattern, request.queue);
      case 'deleteQueue':
        return local.deleteQueue(request.name);
      case 'depth':
        return local.depth(request.queue);
      case 'take':
        return local.take(request.queue);
      case 'consume': {
        const { consumer, queue } = request;
        const deliver: DeliverFn = (message) =>
          new Promise<void>((settle) => {
            if (!open) return settle();
            const delivery = nextDelivery++;
            unsettled.set(delivery, { queue, message, settle });
            port.postMessage({ kind: 'deliver', consumer, delivery, message } satisfies FromBroker);
          });
        consumers.set(consumer, await local.consume(queue, request.prefetch, deliver));
        return undefined;
      }
      case 'cancel': {
        const consumer = consumers.get(request.consumer);
        consumers.delete(request.consumer);
        // Only stops new deliveries: waiting for the handed-out ones here would deadlock, since
        // the thread settles them while it awaits this reply.
        void consumer?.cancel();
        return undefined;
      }
    }
  };

  port.on('message', (message: ToBroker) => {
    if (message.kind === 'settled') {
      const entry = unsettled.get(message.delivery);
      unsettled.delete(message.delivery);
      entry?.settle();
      return;
    }
    const { id } = message;
    run(message).then(
      (result) => open && port.postMessage({ kind: 'reply', id, result } satisfies FromBroker),
      (error: unknown) =>
        open &&
        port.postMessage({
          kind: 'reply',
          id,
          error: (error as Error).message ?? String(error),
        } satisfies FromBroker),
    );
  });
  port.on('close', () => {
    open = false;
    for (const consumer of consumers.values()) void consumer.cancel();
    consumers.clear();
    for (const { queue, message, settle } of unsettled.values()) {
      if (broker.hasQueue(queue)) broker.queue(queue).enqueue(message);
      settle();
    }
    unsettled.clear();
  });
}

/** A BrokerLink to the broker served at the other end of `port` (see serveEmbeddedBroker). */
export function portBrokerLink(port: MessagePort): BrokerLink {
  const pending = new Map<number, { resolve(value: unknown): void; reject(e: Error): void }>();
  const consumers = new Map<number, { deliver: DeliverFn; inFlight: Set<Promise<void>> }>();
  let nextId = 1;
  let nextConsumer = 1;
  // Like an AMQP connection: it keeps the thread alive while it has consumers or is awaiting the
  // broker, and not otherwise.
  const updateRef = () => (pending.size > 0 || consumers.size > 0 ? port.ref() : port.unref());

  port.on('message', (message: FromBroker) => {
    if (message.kind === 'reply') {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      updateRef();
      if (message.error !== undefined) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.result);
      return;
    }
    const consumer = consumers.get(message.consumer);
    const settled = () =>
      port.postMessage({ kind: 'settled', delivery: message.delivery } satisfies ToBroker);
    if (!consumer) return settled();
    // The bus's deliver function never rejects (it turns every outcome into ack/retry/DLQ).
    const handled: Promise<void> = consumer
      .deliver(revive(message.message))
      .catch(() => undefined)
      .finally(() => {
        consumer.inFlight.delete(handled);
        settled();
      });
    consumer.inFlight.add(handled);
  });
  updateRef();

  const request = <R>(operation: Operation): Promise<R> =>
    new Promise<R>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      updateRef();
      port.postMessage({ kind: 'request', id, ...operation } satisfies ToBroker);
    });

  return {
    declare: (names) => request({ op: 'declare', names }),
    enqueue: (queue, message, delayMs = 0) => request({ op: 'enqueue', queue, message, delayMs }),
    publish: (exchange, message) => request({ op: 'publish', exchange, message }),
    bind: (exchange, pattern, queue) => request({ op: 'bind', exchange, pattern, queue }),
    unbind: (exchange, pattern, queue) => request({ op: 'unbind', exchange, pattern, queue }),
    deleteQueue: (name) => request({ op: 'deleteQueue', name }),
    depth: (queue) => request({ op: 'depth', queue }),
    take: async (queue) => {
      const message = await request<EmbeddedMessage | undefined>({ op: 'take', queue });
      return message && revive(message);
    },
    consume: async (queue, prefetch, deliver) => {
      const id = nextConsumer++;
      const state = { deliver, inFlight: new Set<Promise<void>>() };
      consumers.set(id, state);
      await request({ op: 'consume', queue, prefetch, consumer: id });
      return {
        cancel: async () => {
          // Deliveries the broker sent before it saw the cancel arrive before its reply
          // (a port keeps order), so they are in flight by the time the wait below starts.
          await request({ op: 'cancel', consumer: id });
          consumers.delete(id);
          updateRef();
          while (state.inFlight.size > 0) await Promise.allSettled([...state.inFlight]);
        },
      };
    },
  };
}
