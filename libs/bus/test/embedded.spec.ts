import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { createBus, createEmbeddedBroker, type Bus } from '../src';
import { runBusContractSuite } from './contract-suite';

runBusContractSuite('embedded', async () => {
  const broker = createEmbeddedBroker();
  const buses: Bus[] = [];
  return {
    makeBus: async (options) => {
      const bus = await createBus({
        embeddedBroker: broker,
        logger: pino({ level: 'silent' }),
        ...options,
      });
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
    },
  };
});
