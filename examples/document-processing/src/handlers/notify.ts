import { defineStepHandler } from '@conveyor/worker-sdk';
import type { Logger } from 'pino';

/** Longest error message logged: a run's error can quote what a caller sent (megabytes). */
const LOGGED_MESSAGE_CHARS = 2048;

/** The workflow's onFailure step: here it only logs; a real one would page someone or file a ticket. */
export function notifyFailureHandler(logger: Logger, sink?: (input: unknown) => void) {
  return defineStepHandler({
    queue: 'notify-failure',
    async handle({ input }) {
      const { error, bundle } = (input ?? {}) as {
        error?: { message?: unknown; code?: unknown };
        bundle?: unknown;
      };
      const message = typeof error?.message === 'string' ? error.message : undefined;
      logger.warn(
        {
          bundle: typeof bundle === 'string' ? bundle.slice(0, 200) : undefined,
          code: error?.code,
          message:
            message && message.length > LOGGED_MESSAGE_CHARS
              ? `${message.slice(0, LOGGED_MESSAGE_CHARS)}… (${message.length} characters)`
              : message,
        },
        'document-processing run failed',
      );
      sink?.(input);
      return { notified: true };
    },
  });
}
