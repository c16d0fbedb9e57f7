import type { RetryPolicy } from '../definitions/model';

/**
 * Delay before attempt `failedAttempt + 1`: exponential, capped, with jitter so that many steps
 * failing together (a worker pool restarting) do not come back as a synchronised wave.
 */
export function backoffDelay(
  policy: RetryPolicy,
  failedAttempt: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** (failedAttempt - 1));
  const spread = base * policy.jitter;
  return Math.max(0, Math.round(base - spread + random() * 2 * spread));
}
