import { defineStepHandler } from '@conveyor/worker-sdk';
import type { Logger } from 'pino';

/** The workflow's onFailure step: here it only logs; a real one would page someone or file a ticket. */
export function notifyFailureHandler(logger: Logger, sink?: (input: unknown) => void) {
  return defineStepHandler({
    queue: 'notify-failure',
    async handle({ input }) {
      logger.warn({ failure: input }, 'document-processing run failed');
      sink?.(input);
      return { notified: true };
    },
  });
}
