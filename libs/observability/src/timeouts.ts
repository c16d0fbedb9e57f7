/** Thrown when a bounded operation (readiness check, shutdown hook, drain) runs out of time. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/**
 * Resolves or rejects with `work`, or rejects with a TimeoutError after `ms`. The timer is
 * deliberately not unref'd: during shutdown it is what keeps the process alive until a hung hook
 * times out, instead of the event loop emptying and the process exiting mid-shutdown.
 */
export async function withTimeout<T>(work: () => Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    // Promise.resolve().then(work) turns a synchronous throw into a rejection.
    return await Promise.race([Promise.resolve().then(work), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
