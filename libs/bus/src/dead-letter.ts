import { HEADERS, readAttempt, readString } from './headers';
import type { DeadLetter } from './transport';

interface XDeathEntry {
  reason?: unknown;
  queue?: unknown;
  count?: unknown;
}

/**
 * Builds the DeadLetter view of a DLQ message. Messages the bus dead-lettered carry its headers;
 * messages RabbitMQ dead-lettered itself (x-delivery-limit reached after consumer crashes) only
 * have the broker's x-death record, so the reason and queue come from there.
 */
export function toDeadLetter(
  body: Buffer,
  headers: Readonly<Record<string, unknown>>,
  messageId: string | undefined,
): DeadLetter {
  const text = body.toString('utf8');
  let decoded: unknown = text;
  try {
    decoded = JSON.parse(text);
  } catch {
    // Not JSON (that is often why it is here): keep the raw text for the operator.
  }
  const death = Array.isArray(headers['x-death'])
    ? (headers['x-death'][0] as XDeathEntry | undefined)
    : undefined;
  const brokerReason = typeof death?.reason === 'string' ? death.reason : undefined;
  const reason =
    readString(headers, HEADERS.reason) ??
    (brokerReason === 'delivery_limit'
      ? 'delivery limit reached: the consumer failed (crashed or lost its connection) before acking, too many times'
      : brokerReason !== undefined
        ? `dead-lettered by the broker: ${brokerReason}`
        : 'unknown (no reason header)');
  const originalQueue =
    readString(headers, HEADERS.originalQueue) ??
    (typeof death?.queue === 'string' ? death.queue : 'unknown');
  const deliveryCount =
    typeof headers['x-delivery-count'] === 'number' ? headers['x-delivery-count'] : undefined;
  return {
    body: decoded,
    reason,
    originalQueue,
    attempts:
      readString(headers, HEADERS.reason) !== undefined
        ? readAttempt(headers)
        : (deliveryCount ?? readAttempt(headers)),
    headers,
    messageId,
    routingKey: readString(headers, HEADERS.originalRoutingKey),
    firstFailureAt: readString(headers, HEADERS.firstFailureAt),
    deadLetteredAt: readString(headers, HEADERS.deadLetteredAt),
  };
}
