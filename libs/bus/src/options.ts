import { HEADERS } from './headers';
import type { PublishOptions } from './transport';

export const DEFAULT_PREFETCH = 16;

export function validatePrefetch(prefetch: number | undefined): number {
  const value = prefetch ?? DEFAULT_PREFETCH;
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`prefetch must be an integer between 1 and 65535, got ${value}`);
  }
  return value;
}

/** Caller headers plus the correlation id, which every transport also carries as a header. */
export function publishHeaders(options: PublishOptions | undefined): Record<string, unknown> {
  const headers: Record<string, unknown> = { ...options?.headers };
  if (options?.correlationId !== undefined) headers[HEADERS.correlationId] = options.correlationId;
  return headers;
}
