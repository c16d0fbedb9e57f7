import type { QueueType } from './definitions';

/**
 * A queue exists on the broker with another type than the one declared here: RabbitMQ refuses
 * the declaration (PRECONDITION_FAILED) and queue types cannot change in place. The message says
 * which queue, both types and the two ways out; services stop at start-up with it.
 */
export class QueueTypeMismatchError extends Error {
  override readonly name = 'QueueTypeMismatchError';
  /** The AMQP reply code of the refusal: final, never retried (see isRefusal). */
  readonly code = 406;

  constructor(
    readonly queue: string,
    /** What the broker has. */
    readonly existingType: QueueType,
    /** What this process asked for. */
    readonly requestedType: QueueType,
    /** How to ask for the other type in this process (e.g. an environment variable). */
    hint = `declare it with queueType '${existingType}'`,
    options?: { cause?: unknown },
  ) {
    super(
      `queue ${queue} exists on the broker as a ${existingType} queue, but this process declares it as ${requestedType} (RabbitMQ refuses it: PRECONDITION_FAILED, queue types cannot change in place). Either ${hint}, or drain the queue and delete it (rabbitmqctl delete_queue ${queue}) so that it is re-created as ${requestedType}; its dead-letter queue can stay`,
      options,
    );
  }
}

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
