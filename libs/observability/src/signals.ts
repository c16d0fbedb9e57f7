import type { Logger } from 'pino';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Exits once the logger's buffered lines are written. pino writes asynchronously; exiting with a
 * write still pending (stdout pipe full) lets the exit-time synchronous flush overtake it, so the
 * last lines — the shutdown steps — would come out of order or not at all. Bounded, so a stdout
 * nobody reads cannot keep the process alive.
 */
export function flushThenExit(logger: Logger, code: number, timeoutMs = 2000): void {
  // Not unref'd: it must also hold the process open if the flush never calls back.
  setTimeout(() => process.exit(code), timeoutMs);
  try {
    logger.flush(() => process.exit(code));
  } catch {
    process.exit(code); // a destination without flush support (e.g. a plain stream)
  }
}

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
      flushThenExit(logger, 1, 500);
      return;
    }
    received = signal;
    logger.info({ signal }, 'signal received: shutting down gracefully');
    shutdown(signal).then(
      ({ clean }) => flushThenExit(logger, clean ? 0 : 1),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        flushThenExit(logger, 1);
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
