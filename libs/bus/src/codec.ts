import { parseWithSchema } from '@conveyor/contracts';
import type { z } from 'zod';
import { InvalidMessageError } from './errors';
import type { PublishOptions } from './transport';

/**
 * Validates an outgoing message (a failure is the caller's bug) and encodes it as JSON. With
 * `options.validate` false (typed code, or a message validated on arrival) it only encodes it;
 * consumers validate every message they receive either way.
 */
export function encodeMessage<T>(
  schema: z.ZodType<T>,
  message: T,
  destination: string,
  options?: Pick<PublishOptions, 'validate'>,
): Buffer {
  if (options?.validate !== false) {
    const parsed = parseWithSchema(schema, message);
    if (!parsed.ok) {
      throw new InvalidMessageError(
        `refusing to publish an invalid message to ${destination}: ${parsed.message}`,
      );
    }
  }
  // The caller's value, not the parsed one: transforms and defaults run once, on the consumer.
  return Buffer.from(JSON.stringify(message), 'utf8');
}

/** Topic routing key: explicit, else the message's literal `type` (every contract has one). */
export function eventRoutingKey(
  message: unknown,
  explicit: string | undefined,
  exchange: string,
): string {
  if (explicit !== undefined) return explicit;
  const type =
    typeof message === 'object' && message !== null
      ? (message as { type?: unknown }).type
      : undefined;
  if (typeof type === 'string' && type.length > 0) return type;
  throw new InvalidMessageError(
    `cannot route an event on ${exchange}: the message has no string "type"; pass options.routingKey`,
  );
}
