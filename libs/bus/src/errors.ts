/** The message given to publish() does not match the definition's schema: a caller bug. */
export class InvalidMessageError extends Error {
  override readonly name = 'InvalidMessageError';
}

/** The broker did not confirm a publish in time (broker unreachable, blocked or rejecting). */
export class PublishTimeoutError extends Error {
  override readonly name = 'PublishTimeoutError';
}

/** The bus was closed: no more publishes or consumers. */
export class BusClosedError extends Error {
  override readonly name = 'BusClosedError';
}
