import type { RunEvent, StepRequest } from '@conveyor/contracts';
import type { RunRow } from './transition/state';

/**
 * What a transition asks the outside world to do once its transaction has committed. Nothing is
 * sent from inside a transaction: a rollback must never leave a request or event behind.
 */
export type Effect =
  | { readonly kind: 'dispatch'; readonly request: StepRequest }
  | { readonly kind: 'event'; readonly event: RunEvent }
  /** `run`: the row as the transaction committed it (its completion is then not read back). */
  | { readonly kind: 'run-completed'; readonly runId: string; readonly run?: RunRow }
  /** A retry is due at `at`: wake the sweeper then rather than at its next tick. */
  | { readonly kind: 'wake'; readonly at: number };
