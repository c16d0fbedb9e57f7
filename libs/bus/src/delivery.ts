import { parseWithSchema } from '@conveyor/contracts';
import type { QueueDefinition } from './definitions';
import { HEADERS, brokerFreeHeaders, readAttempt, readString } from './headers';
import { DeadLetterError, type Handler } from './transport';

/** A message as it came off a transport, before decoding. */
export interface RawDelivery {
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly messageId: string;
  /** Routing key the transport delivered it with (a retry's is the queue name). */
  readonly routingKey: string;
}

/** What the transport must do with a delivery once the handler is done with it. */
export type Outcome =
  | { readonly kind: 'ack'; readonly attempt: number }
  | {
      readonly kind: 'retry';
      readonly attempt: number;
      readonly delayMs: number;
      readonly error: string;
      /** Headers for the republished copy (attempt + 1, first failure, last error). */
      readonly headers: Record<string, unknown>;
    }
  | {
      readonly kind: 'dead-letter';
      readonly attempt: number;
      readonly reason: string;
      readonly cause: 'invalid-json' | 'invalid-message' | 'rejected' | 'attempts-exhausted';
      /** Headers for the dead-lettered copy (reason, origin, attempts, times). */
      readonly headers: Record<string, unknown>;
    };

export interface DeliveryContext {
  /** Queue the message was consumed from. */
  readonly queue: string;
  /** Exchange it was published to ('' for queues). */
  readonly exchange: string;
}

/**
 * The classic-queue stand-in for a quorum queue's `x-delivery-limit`. A delivery the broker
 * flags `redelivered` was handed to a consumer before and never acked: that consumer crashed,
 * lost its connection or closed with it prefetched. Quorum queues count these and dead-letter
 * after DELIVERY_LIMIT; classic queues do not, so a message that kills every consumer would
 * loop forever. Instead the bus counts a redelivery as an attempt, before the handler runs again:
 * `retry` republishes it with attempt + 1 (confirmed, then the redelivered copy is acked), and
 * once attempts are exhausted it is dead-lettered without running the handler. `undefined`:
 * handle the delivery normally. Invalid messages are left to processDelivery (dead-lettered
 * at once anyway).
 */
export function redeliveryOutcome(
  raw: RawDelivery,
  policy: Pick<QueueDefinition<unknown>, 'maxAttempts'>,
  context: DeliveryContext,
): Outcome | undefined {
  const attempt = readAttempt(raw.headers);
  const routingKey = readString(raw.headers, HEADERS.originalRoutingKey) ?? raw.routingKey;
  const now = new Date().toISOString();
  const firstFailureAt = readString(raw.headers, HEADERS.firstFailureAt) ?? now;
  const originalExchange = readString(raw.headers, HEADERS.originalExchange) ?? context.exchange;
  const error = 'redelivered: a consumer received it and never acked (crash or lost connection)';
  if (attempt >= policy.maxAttempts) {
    const reason = `delivery limit reached: ${error}, on attempt ${attempt} of ${policy.maxAttempts}`;
    return {
      kind: 'dead-letter',
      attempt,
      cause: 'attempts-exhausted',
      reason,
      headers: {
        ...brokerFreeHeaders(raw.headers),
        [HEADERS.reason]: reason,
        [HEADERS.attempt]: attempt,
        [HEADERS.originalQueue]: context.queue,
        [HEADERS.originalExchange]: originalExchange,
        [HEADERS.originalRoutingKey]: routingKey,
        [HEADERS.firstFailureAt]: firstFailureAt,
        [HEADERS.deadLetteredAt]: now,
      },
    };
  }
  return {
    kind: 'retry',
    attempt,
    // Not the definition's retryDelayMs: the message did not fail, its consumer went away.
    delayMs: 0,
    error,
    headers: {
      ...brokerFreeHeaders(raw.headers),
      [HEADERS.attempt]: attempt + 1,
      [HEADERS.lastError]: error,
      [HEADERS.firstFailureAt]: firstFailureAt,
      [HEADERS.originalExchange]: originalExchange,
      [HEADERS.originalRoutingKey]: routingKey,
    },
  };
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * Decodes, validates and hands one delivery to the handler, then decides its fate. Shared by
 * both transports so their ack/retry/dead-letter semantics cannot drift apart.
 */
export async function processDelivery<T>(
  raw: RawDelivery,
  policy: Pick<QueueDefinition<T>, 'schema' | 'maxAttempts' | 'retryDelayMs'>,
  handler: Handler<T>,
  context: DeliveryContext,
): Promise<Outcome> {
  const attempt = readAttempt(raw.headers);
  const routingKey = readString(raw.headers, HEADERS.originalRoutingKey) ?? raw.routingKey;
  const now = new Date().toISOString();
  const firstFailureAt = readString(raw.headers, HEADERS.firstFailureAt) ?? now;

  const deadLetter = (
    cause: Extract<Outcome, { kind: 'dead-letter' }>['cause'],
    reason: string,
  ): Outcome => ({
    kind: 'dead-letter',
    attempt,
    cause,
    reason,
    headers: {
      ...brokerFreeHeaders(raw.headers),
      [HEADERS.reason]: reason,
      [HEADERS.attempt]: attempt,
      [HEADERS.originalQueue]: context.queue,
      [HEADERS.originalExchange]:
        readString(raw.headers, HEADERS.originalExchange) ?? context.exchange,
      [HEADERS.originalRoutingKey]: routingKey,
      [HEADERS.firstFailureAt]: firstFailureAt,
      [HEADERS.deadLetteredAt]: now,
    },
  });

  let decoded: unknown;
  try {
    decoded = JSON.parse(raw.body.toString('utf8'));
  } catch (err) {
    return deadLetter('invalid-json', `invalid JSON: ${errorText(err)}`);
  }
  const parsed = parseWithSchema(policy.schema, decoded);
  if (!parsed.ok) return deadLetter('invalid-message', `invalid message: ${parsed.message}`);

  try {
    await handler({
      message: parsed.value as T,
      messageId: raw.messageId,
      attempt,
      headers: raw.headers,
      routingKey,
    });
    return { kind: 'ack', attempt };
  } catch (err) {
    const error = errorText(err);
    if (err instanceof DeadLetterError)
      return deadLetter('rejected', `rejected by handler: ${error}`);
    if (attempt >= policy.maxAttempts) {
      return deadLetter('attempts-exhausted', `failed after ${attempt} attempt(s): ${error}`);
    }
    return {
      kind: 'retry',
      attempt,
      delayMs: policy.retryDelayMs,
      error,
      headers: {
        ...brokerFreeHeaders(raw.headers),
        [HEADERS.attempt]: attempt + 1,
        [HEADERS.lastError]: error,
        [HEADERS.firstFailureAt]: firstFailureAt,
        [HEADERS.originalExchange]:
          readString(raw.headers, HEADERS.originalExchange) ?? context.exchange,
        [HEADERS.originalRoutingKey]: routingKey,
      },
    };
  }
}
