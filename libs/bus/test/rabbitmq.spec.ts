import { QUEUE_TYPES, type Bus } from '../src';
import { runBusContractSuite } from './contract-suite';
import { deleteRunTopology, makeAmqpBus, prefix, publishRaw } from './rabbitmq';

jest.setTimeout(60_000);

// Both queue types keep the same contract; only the broker's crash-redelivery backstop differs
// (x-delivery-limit vs the bus's redelivery count, tested in rabbitmq-faults.spec.ts).
describe.each(QUEUE_TYPES)('%s queues', (queueType) => {
  runBusContractSuite(`RabbitMQ (${queueType} queues)`, async () => {
    const buses: Bus[] = [];
    return {
      queueType,
      makeBus: async (options) => {
        const bus = await makeAmqpBus('contract', options);
        buses.push(bus);
        return bus;
      },
      publishRaw,
      name: (suffix) => `${prefix}.contract.${queueType}.${suffix}`,
      cleanup: async () => {
        await Promise.all(buses.map((b) => b.close()));
        await deleteRunTopology();
      },
    };
  });
});
