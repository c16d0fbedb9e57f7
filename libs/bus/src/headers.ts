/**
 * Header names the bus writes. They are part of the wire contract: workers in other languages
 * read `x-conveyor-attempt`, and operators read the dead-letter ones when triaging a DLQ.
 */
export const HEADERS = {
  /** 1-based attempt number of this delivery; retries republish with attempt + 1. */
  attempt: 'x-conveyor-attempt',
  /** Why the message was dead-lettered (validation errors, the handler's error, …). */
  reason: 'x-conveyor-reason',
  /** Error of the most recent failed attempt, carried on retries. */
  lastError: 'x-conveyor-last-error',
  /** Queue the message was consumed from when it failed. */
  originalQueue: 'x-conveyor-original-queue',
  /** Exchange it was first published to ('' = default exchange, i.e. straight to a queue). */
  originalExchange: 'x-conveyor-original-exchange',
  /** Routing key it was first published with; retries keep it so topic handlers see the original. */
  originalRoutingKey: 'x-conveyor-original-routing-key',
  /** ISO time of the first failed attempt. */
  firstFailureAt: 'x-conveyor-first-failure-at',
  /** ISO time it was dead-lettered. */
  deadLetteredAt: 'x-conveyor-dead-lettered-at',
  /** Correlation id (AMQP has a property for it; the header makes it visible to all transports). */
  correlationId: 'x-conveyor-correlation-id',
} as const;

const OWN_HEADERS: ReadonlySet<string> = new Set(Object.values(HEADERS));

/** Reads the attempt header, tolerating the types other clients may encode a number as. */
export function readAttempt(headers: Readonly<Record<string, unknown>>): number {
  const raw = headers[HEADERS.attempt];
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : NaN;
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

export function readString(
  headers: Readonly<Record<string, unknown>>,
  name: string,
): string | undefined {
  const raw = headers[name];
  if (typeof raw === 'string') return raw;
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  return undefined;
}

/** The caller's own headers, without the bus's bookkeeping ones. */
export function userHeaders(headers: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(headers))
    if (!OWN_HEADERS.has(k) && !k.startsWith('x-death')) out[k] = v;
  return out;
}

/**
 * Headers RabbitMQ maintains itself (x-death, x-delivery-count, …). They are dropped from copies
 * the bus republishes: the broker would otherwise merge stale death records into new ones.
 */
export function brokerFreeHeaders(
  headers: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (
      k === 'x-death' ||
      k === 'x-delivery-count' ||
      k.startsWith('x-first-death') ||
      k.startsWith('x-last-death')
    ) {
      continue;
    }
    out[k] = v;
  }
  return out;
}

/**
 * Headers for a dead letter sent back to its queue: a fresh attempt counter and no failure
 * bookkeeping, but the original routing key (topic handlers still see what was published).
 */
export function replayHeaders(headers: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out = brokerFreeHeaders(headers);
  for (const name of [
    HEADERS.attempt,
    HEADERS.reason,
    HEADERS.lastError,
    HEADERS.firstFailureAt,
    HEADERS.deadLetteredAt,
    HEADERS.originalQueue,
  ]) {
    delete out[name];
  }
  return out;
}
