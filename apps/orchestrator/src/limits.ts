import type { StepError, StepResult } from '@conveyor/contracts';

/**
 * Size limits at the orchestrator's boundaries. Whatever a caller or a worker sends is copied
 * into the database, the logs, events and the inspector, so it is bounded where it comes in.
 */
export interface HttpLimits {
  /** Largest HTTP request body (HTTP_BODY_LIMIT_BYTES); larger → 413. */
  readonly bodyBytes: number;
  /** Largest run input, as JSON (RUN_INPUT_LIMIT_BYTES); larger → 413. */
  readonly runInputBytes: number;
}

export const BODY_LIMIT_VARIABLE = 'HTTP_BODY_LIMIT_BYTES';
export const RUN_INPUT_LIMIT_VARIABLE = 'RUN_INPUT_LIMIT_BYTES';

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  bodyBytes: 4 * 1024 * 1024,
  runInputBytes: 1024 * 1024,
};

/** Longest step error message kept (characters); the rest is cut and its size noted. */
export const ERROR_MESSAGE_LIMIT = 4096;
/** Largest step error `details` kept, as JSON (characters); larger is replaced by a preview. */
export const ERROR_DETAILS_LIMIT = 4096;
/** Longest string a log field carries (characters). */
export const LOG_FIELD_LIMIT = 2048;

/** `1 MiB`, `512 KiB`, `300 bytes`: sizes as people read them. */
export function formatBytes(bytes: number): string {
  const units: [number, string][] = [
    [1024 * 1024 * 1024, 'GiB'],
    [1024 * 1024, 'MiB'],
    [1024, 'KiB'],
  ];
  for (const [size, unit] of units) {
    if (bytes >= size) {
      const value = bytes / size;
      return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
    }
  }
  return `${bytes} bytes`;
}

/** UTF-8 size of `value` as JSON (what the database and the wire hold). */
export function jsonBytes(value: unknown): number {
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

/** `text` itself when short enough, else its start and `… [truncated: N characters in all]`. */
export function truncateText(text: string, limit: number): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, limit)}… [truncated: ${text.length} characters in all]`;
}

/** A step error with its message, code and details cut to the limits above. */
export function boundStepError(error: StepError): StepError {
  const message = truncateText(error.message, ERROR_MESSAGE_LIMIT);
  const code = error.code === undefined ? undefined : truncateText(error.code, 200);
  let details = error.details;
  if (details !== undefined) {
    const text = JSON.stringify(details);
    if (text.length > ERROR_DETAILS_LIMIT)
      details = {
        truncated: true,
        characters: text.length,
        preview: text.slice(0, ERROR_DETAILS_LIMIT / 4),
      };
  }
  if (message === error.message && code === error.code && details === error.details) return error;
  return {
    ...error,
    message,
    ...(code !== undefined ? { code } : {}),
    ...(details !== undefined ? { details } : {}),
  };
}

/** A worker's result as it enters the engine: a failed one carries a bounded error. */
export function boundStepResult(result: StepResult): StepResult {
  if (result.status !== 'failed') return result;
  const error = boundStepError(result.error);
  return error === result.error ? result : { ...result, error };
}

/** A value safe to put in a log line: long strings cut, large objects summarised. */
export function logField(value: unknown): unknown {
  if (typeof value === 'string') return truncateText(value, LOG_FIELD_LIMIT);
  if (value === null || typeof value !== 'object') return value;
  const text = JSON.stringify(value) ?? '';
  return text.length <= LOG_FIELD_LIMIT ? value : truncateText(text, LOG_FIELD_LIMIT);
}
