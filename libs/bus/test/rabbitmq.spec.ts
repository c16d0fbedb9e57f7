import type { Bus } from '../src';
import { runBusContractSuite } from './contract-suite';
import { deleteRunTopology, makeAmqpBus, prefix, publishRaw } from './rabbitmq';

jest.setTimeout(60_000);

runBusContractSuite('RabbitMQ', async () => {
  const buses: Bus[] = [];
  return {
    makeBus: async (options) => {
      const bus = await makeAmqpBus('contract', options);
      buses.push(bus);
      return bus;
    },
    publishRaw,
    name: (suffix) => `${prefix}.contract.${suffix}`,
    cleanup: async () => {
      await Promise.all(buses.map((b) => b.close()));
      await deleteRunTopology();
    },
  };
});
