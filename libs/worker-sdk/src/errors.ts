import type { StepError } from '@conveyor/contracts';

/**
 * Throw from a handler to report a failure with an explicit retry decision. Any other thrown
 * error is reported as retryable (code `UNHANDLED`): an unknown failure is more often transient
 * (a dependency timing out) than permanent, and the step's `retry.maxAttempts` bounds the cost.
 */
export class StepFailure extends Error {
  override readonly name: string = 'StepFailure';
  readonly retryable: boolean;
  readonly code: string | undefined;
  readonly details: unknown;

  constructor(
    message: string,
    options: { retryable: boolean; code?: string; details?: unknown; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable;
    this.code = options.code;
    this.details = options.details;
  }
}

/** Retrying cannot help (bad input, unsupported document): the step fails at once. */
export class FatalStepError extends StepFailure {
  override readonly name = 'FatalStepError';
  constructor(
    message: string,
    options: { code?: string; details?: unknown; cause?: unknown } = {},
  ) {
    super(message, { ...options, retryable: false });
  }
}

/** Transient (overload, model still loading): the orchestrator retries with backoff. */
export class RetryableStepError extends StepFailure {
  override readonly name = 'RetryableStepError';
  constructor(
    message: string,
    options: { code?: string; details?: unknown; cause?: unknown } = {},
  ) {
    super(message, { ...options, retryable: true });
  }
}

export function toStepError(error: unknown): StepError {
  if (error instanceof StepFailure) {
    return {
      message: error.message || error.name,
      retryable: error.retryable,
      ...(error.code ? { code: error.code } : {}),
      ...(error.details !== undefined ? { details: error.details } : {}),
    };
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { message: message || 'unknown error', code: 'UNHANDLED', retryable: true };
}
