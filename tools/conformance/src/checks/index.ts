import type { Check } from '../check';
import { chain, chainFailure, chainToMissingQueue } from './chains';
import { heartbeat, timeout } from './deadlines';
import { gracefulShutdown, queueDeleted, reconnect, redelivery } from './lifecycle';
import { idempotencyKey } from './idempotency';
import { fatal, retryable, retryableExhausted, success, unexpectedException } from './outcomes';
import { poisonCrashLoop, poisonInvalid } from './poison';

/** Every check, in the order they run: the ones that stop or cut off the worker come last. */
export const CHECKS: readonly Check[] = [
  success,
  retryable,
  retryableExhausted,
  fatal,
  unexpectedException,
  heartbeat,
  timeout,
  chain,
  chainFailure,
  chainToMissingQueue,
  idempotencyKey,
  poisonInvalid,
  redelivery,
  poisonCrashLoop,
  gracefulShutdown,
  queueDeleted,
  reconnect,
];
