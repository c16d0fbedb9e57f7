import type { Logger } from 'pino';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * First SIGTERM/SIGINT: graceful shutdown, then exit 0 (1 if it was not clean). A second signal
 * while shutting down means the operator has given up waiting: exit 1 at once.
 * Returns a function that removes the handlers (called once shutdown completes).
 */
export function startSignalHandling(
  logger: Logger,
  shutdown: (signal: string) => Promise<{ clean: boolean }>,
): () => void {
  let received: string | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (received) {
      logger.warn({ signal, first: received }, 'second signal during shutdown: forcing exit 1');
      process.exit(1);
    }
    received = signal;
    logger.info({ signal }, 'signal received: shutting down gracefully');
    shutdown(signal).then(
      ({ clean }) => process.exit(clean ? 0 : 1),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const s of SIGNALS) process.on(s, handler);
  return () => {
    // After a signal the handlers stay: a second signal must still force the exit.
    if (received) return;
    for (const s of SIGNALS) process.off(s, handler);
  };
}
