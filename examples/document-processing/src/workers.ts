import { join } from 'node:path';
import { createBus } from '@conveyor/bus';
import { createLogger } from '@conveyor/observability';
import { startStepWorker, type StepHandlerDefinition } from '@conveyor/worker-sdk';
import type { Logger } from 'pino';
import { classifyStandIn } from './handlers/classify';
import { notifyFailureHandler } from './handlers/notify';
import { ocrHandler } from './handlers/ocr';
import { pagesRootFromEnv } from './handlers/page-path';
import { splitHandler } from './handlers/split';

export const EXAMPLE_DIR = join(__dirname, '..');

/**
 * The example's TypeScript workers. `classify` is the heuristic stand-in unless `withClassify`
 * is false (run apps/classifier instead). `queuePrefix` renames every queue (tests use it to
 * stay apart from other services sharing the broker).
 */
export function exampleHandlers(options: {
  logger: Logger;
  withClassify?: boolean;
  queuePrefix?: string;
  onFailure?: (input: unknown) => void;
  /** Where page URIs may read from (default: PAGES_ROOT, else the example's sample/). */
  pagesRoot?: string;
}) {
  const handlers: StepHandlerDefinition<never, unknown>[] = [
    ocrHandler(options.pagesRoot ?? pagesRootFromEnv()) as StepHandlerDefinition<never, unknown>,
    splitHandler as StepHandlerDefinition<never, unknown>,
    notifyFailureHandler(options.logger, options.onFailure) as StepHandlerDefinition<
      never,
      unknown
    >,
    ...(options.withClassify === false
      ? []
      : [classifyStandIn as StepHandlerDefinition<never, unknown>]),
  ];
  const prefix = options.queuePrefix ?? '';
  return handlers.map((h) => ({ ...h, queue: `${prefix}${h.queue}` }));
}

if (require.main === module) {
  const logger = createLogger('document-processing-workers');
  (async () => {
    const bus = await createBus({
      url: process.env.AMQP_URL,
      logger,
      connectionName: 'document-processing-workers',
    });
    const worker = await startStepWorker({
      bus,
      logger,
      handlers: exampleHandlers({ logger, withClassify: process.env.WITH_CLASSIFY !== 'false' }),
    });
    logger.info(
      { queues: ['ocr', 'split-documents', 'classify', 'notify-failure'] },
      'example workers running',
    );
    const stop = async () => {
      await worker.close();
      await bus.close();
      process.exit(0);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  })().catch((error: unknown) => {
    logger.error({ err: error }, 'workers failed to start');
    process.exit(1);
  });
}
