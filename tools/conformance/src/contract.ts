/**
 * The conformance worker contract: what a worker under test serves, so that the kit knows what
 * each step will do. README.md ("The conformance worker contract") is the prose version; the
 * reference workers in ../workers implement it with each SDK.
 */

/** Environment the kit gives the worker under test (on top of its own environment). */
export const CONTRACT_ENV = {
  /** Broker URL. */
  amqpUrl: 'AMQP_URL',
  /** Queue names start with this, then `.echo`, `.flaky`, `.fatal`, `.slow`, `.crash`, `.key`. */
  prefix: 'CONFORMANCE_PREFIX',
  /** The same queues as a comma-separated list, for workers that prefer to be told. */
  queues: 'CONFORMANCE_QUEUES',
  /** `classic` (the protocol's default) unless the kit runs with `--queue-type quorum`. */
  queueType: 'STEP_QUEUE_TYPE',
} as const;

/** RabbitMQ type of every step, result and progress queue of a session (protocol §1). */
export type QueueType = 'classic' | 'quorum';

/**
 * The six queues of the contract. Each has one behaviour, driven by the step input:
 *
 * - `echo`: succeeds with output = input, unchanged.
 * - `flaky`: input `{ "failUntilAttempt": n }`. While the request's `attempt` < n it fails with a
 *   retryable error, code `FLAKY`; from attempt n on it succeeds with `{ "attempt": attempt }`.
 * - `fatal`: always fails with a non-retryable error, code `CONFORMANCE_FATAL`.
 * - `slow`: input `{ "ms": n, "heartbeatMs"?: h }`. Works (sleeps) for n ms, then succeeds with
 *   `{ "sleptMs": n }`. With `heartbeatMs`, it heartbeats at once (progress 0) and then every h ms
 *   with `progress` = elapsed / n; without it, it sends none.
 * - `crash`: the handler raises an exception it did not decide on (a bug: a missing key, a type
 *   error), never the SDK's retryable/fatal failure types. Protocol §4 says how that is reported.
 * - `key`: succeeds with `{ "idempotencyKey": k }`, k being the key the handler was given (the
 *   request's `idempotencyKey`, or `<runId>:<step>[:<itemIndex>]` computed when it is absent).
 *
 * Every queue takes at least 4 requests at once (prefetch/concurrency ≥ 4).
 */
export const ROLES = ['echo', 'flaky', 'fatal', 'slow', 'crash', 'key'] as const;
export type Role = (typeof ROLES)[number];

export const FLAKY_CODE = 'FLAKY';
export const FATAL_CODE = 'CONFORMANCE_FATAL';

/** The contract's queue names under `prefix`. */
export function contractQueues(prefix: string): Record<Role, string> {
  return {
    echo: `${prefix}.echo`,
    flaky: `${prefix}.flaky`,
    fatal: `${prefix}.fatal`,
    slow: `${prefix}.slow`,
    crash: `${prefix}.crash`,
    key: `${prefix}.key`,
  };
}
