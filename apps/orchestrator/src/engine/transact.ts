import type { Transition } from './transition';

/**
 * Engine.transact as the engine's modules receive it: the one place that opens a transaction
 * (engine.ts). Runs `fn` in one transaction, then performs its effects; with `runId`, the run's
 * transactions take turns in memory; `onCommitted` is called once committed, before the effects.
 */
export type Transact = <T>(
  kind: string,
  fn: (t: Transition) => Promise<T>,
  runId?: string,
  onCommitted?: () => void,
) => Promise<T>;

/** Postgres errors worth retrying the whole transaction for: deadlock, serialization, unique race. */
export const RETRYABLE_SQLSTATE = new Set(['40P01', '40001', '23505']);
