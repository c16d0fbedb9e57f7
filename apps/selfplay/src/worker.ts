// The selfplay step worker process: serves selfplay-shard and selfplay-aggregate on the bus.
//   AMQP_URL=amqp://… npx tsx apps/selfplay/src/worker.ts
// SELFPLAY_THREADS (default: cores) worker threads per shard; SELFPLAY_QUEUE_PREFIX prefixes
// both queue names (tests); STEP_QUEUE_TYPE must match the orchestrator's (read by the SDK).
import { availableParallelism } from 'node:os';
import { createBus } from '@conveyor/bus';
import { startStepWorker } from '@conveyor/worker-sdk';
import pino from 'pino';
import { selfplayHandlers } from './shard';

function threadsFromEnv(value: string | undefined): number {
  if (value === undefined || value === '') return availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`SELFPLAY_THREADS must be a positive integer, got "${value}"`);
  return n;
}

void (async () => {
  const logger = pino({ name: 'selfplay-worker', level: process.env['LOG_LEVEL'] ?? 'info' });
  const threads = threadsFromEnv(process.env['SELFPLAY_THREADS']);
  const queuePrefix = process.env['SELFPLAY_QUEUE_PREFIX'] ?? '';
  const bus = await createBus({
    url: process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672',
    connectionName: `${queuePrefix}selfplay-worker`,
    logger,
  });
  const worker = await startStepWorker({
    bus,
    handlers: selfplayHandlers({ queuePrefix, threads }),
    logger,
  });
  logger.info({ workerId: worker.workerId, threads, queuePrefix }, 'selfplay worker ready');
  const stop = async (): Promise<void> => {
    await worker.close();
    await bus.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
})().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
