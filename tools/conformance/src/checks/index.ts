import type { Check } from '../check';
import { chain, chainFailure } from './chains';
import { heartbeat, timeout } from './deadlines';
import { gracefulShutdown, reconnect, redelivery } from './lifecycle';
import { fatal, retryable, retryableExhausted, success } from './outcomes';
import { poisonCrashLoop, poisonInvalid } from './poison';

/** Every check, in the order they run: the ones that stop or cut off the worker come last. */
export const CHECKS: readonly Check[] = [
  success,
  retryable,
  retryableExhausted,
  fatal,
  heartbeat,
  timeout,
  chain,
  chainFailure,
  poisonInvalid,
  redelivery,
  poisonCrashLoop,
  gracefulShutdown,
  reconnect,
];
