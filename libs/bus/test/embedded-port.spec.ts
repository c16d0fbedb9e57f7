import { randomUUID } from 'node:crypto';
import { MessageChannel } from 'node:worker_threads';
import pino from 'pino';
import { createEmbeddedBroker, defineQueue, type Bus } from '../src';
import { EmbeddedBus } from '../src/embedded/bus';
import { portBrokerLink, serveEmbeddedBroker } from '../src/embedded/port-link';
import { createBusMetrics, noMetrics } from '../src/metrics';
import { runBusContractSuite } from './contract-suite';
import { Job, job, waitFor } from './helpers';

// The embedded broker reached through a MessagePort, as the local stack's service threads reach
// the one its launcher hosts: every message and delivery is structured-cloned, as across threads.
runBusContractSuite('embedded through a MessagePort', async () => {
  const broker = createEmbeddedBroker();
  const channels: MessageChannel[] = [];
  const buses: Bus[] = [];
  return {
    makeBus: async (options) => {
      const channel = new MessageChannel();
      channels.push(channel);
      serveEmbeddedBroker(channel.port1, broker);
      const bus = new EmbeddedBus(
        portBrokerLink(channel.port2),
        pino({ level: 'silent' }),
        options?.registry ? createBusMetrics(options.registry, 'embedded') : noMetrics,
      );
      buses.push(bus);
      return bus;
    },
    publishRaw: async (queue, body, headers = {}) => {
      broker
        .queue(queue)
        .enqueue({ body, headers, messageId: randomUUID(), routingKey: queue, exchange: '' });
    },
    name: (suffix) => `test.${suffix}`,
    cleanup: async () => {
      await Promise.all(buses.map((b) => b.close()));
      for (const channel of channels) channel.port1.close();
    },
  };
});

describe('embedded broker served through a MessagePort', () => {
  it('puts the deliveries a thread had not settled back in their queue when its port closes', async () => {
    const broker = createEmbeddedBroker();
    const channel = new MessageChannel();
    serveEmbeddedBroker(channel.port1, broker);
    const bus = new EmbeddedBus(
      portBrokerLink(channel.port2),
      pino({ level: 'silent' }),
      noMetrics,
    );
    const queue = defineQueue({ name: 'test.port.lost', schema: Job });
    let started = 0;
    await bus.consume(queue, () => {
      started += 1;
      return new Promise<void>(() => undefined); // the thread dies before this settles
    });
    await bus.publish(queue, job(1));
    await waitFor('the delivery', () => started === 1);
    expect(broker.queue(queue.name).depth).toBe(0);
    channel.port2.close();
    await waitFor('the requeue', () => broker.queue(queue.name).depth === 1);
  });
});
