// The selfplay step worker process: serves selfplay-shard and selfplay-aggregate on the bus.
//   AMQP_URL=amqp://… npx tsx apps/selfplay/src/worker.ts
import { createBus } from '@conveyor/bus';
import { startStepWorker } from '@conveyor/worker-sdk';
import pino from 'pino';
import { selfplayHandlers } from './shard';

void (async () => {
  const logger = pino({ name: 'selfplay-worker' });
  const bus = await createBus({
    url: process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672',
    connectionName: 'selfplay-worker',
  });
  const worker = await startStepWorker({
    bus,
    handlers: selfplayHandlers(process.env['SELFPLAY_QUEUE_PREFIX'] ?? ''),
    logger,
  });
  logger.info({ workerId: worker.workerId }, 'selfplay worker ready');
  const stop = async (): Promise<void> => {
    await worker.close();
    await bus.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
})();
