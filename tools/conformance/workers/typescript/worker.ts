/**
 * Reference conformance worker on the TypeScript SDK (libs/worker-sdk): the contract of
 * tools/conformance/README.md in a few lines per queue.
 *
 *   CONFORMANCE_PREFIX=… AMQP_URL=… node --import tsx tools/conformance/workers/typescript/worker.ts
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createBus } from '@conveyor/bus';
import {
  FatalStepError,
  RetryableStepError,
  defineStepHandler,
  startStepWorker,
} from '@conveyor/worker-sdk';
import pino from 'pino';
import { z } from 'zod';

const prefix = process.env['CONFORMANCE_PREFIX'];
if (!prefix) throw new Error('CONFORMANCE_PREFIX is required (the conformance kit sets it)');
const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'warn' });

const handlers = [
  defineStepHandler({ queue: `${prefix}.echo`, handle: async ({ input }) => input }),
  defineStepHandler({
    queue: `${prefix}.flaky`,
    input: z.object({ failUntilAttempt: z.number().int() }),
    async handle({ input, attempt }) {
      if (attempt < input.failUntilAttempt)
        throw new RetryableStepError(`failing until attempt ${input.failUntilAttempt}`, {
          code: 'FLAKY',
        });
      return { attempt };
    },
  }),
  defineStepHandler({
    queue: `${prefix}.fatal`,
    async handle() {
      throw new FatalStepError('this step always fails (conformance contract)', {
        code: 'CONFORMANCE_FATAL',
      });
    },
  }),
  defineStepHandler({
    queue: `${prefix}.crash`,
    async handle({ input }) {
      // A bug the handler did not decide on: the SDK reports it retryable, code UNHANDLED.
      return (input as { missing: { field: unknown } }).missing.field;
    },
  }),
  defineStepHandler({
    queue: `${prefix}.key`,
    handle: async ({ idempotencyKey }) => ({ idempotencyKey }),
  }),
  defineStepHandler({
    queue: `${prefix}.slow`,
    input: z.object({
      ms: z.number().int().min(0),
      heartbeatMs: z.number().int().positive().optional(),
    }),
    async handle({ input, heartbeat }) {
      const started = Date.now();
      for (let elapsed = 0; elapsed < input.ms; elapsed = Date.now() - started) {
        if (input.heartbeatMs) await heartbeat({ progress: elapsed / input.ms });
        await sleep(Math.min(input.heartbeatMs ?? input.ms, input.ms - elapsed));
      }
      return { sleptMs: input.ms };
    },
  }),
];

async function main(): Promise<void> {
  const bus = await createBus({
    url: process.env['AMQP_URL'],
    connectionName: `conformance-ts-worker/${process.pid}`,
    logger,
  });
  const worker = await startStepWorker({ bus, handlers, logger });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // Finish running attempts (results sent, requests acked), then leave.
    void worker
      .close()
      .then(() => bus.close())
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  console.log(`ready: consuming ${handlers.map((h) => h.queue).join(', ')}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
