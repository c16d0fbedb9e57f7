import type { StepError, StepResult } from '@conveyor/contracts';
import type { WorkflowDefinition } from '../../definitions/model';
import { admitQueued, retryTask } from './dispatch';
import { applyResult, heartbeat, lockRunAndSucceed, timeoutAttempt } from './results';
import { settleFanOuts } from './fan-out';
import { cancelRun, createRun, failRun } from './runs';
import {
  TransitionState,
  type Applied,
  type Ignored,
  type LockedRun,
  type RunRow,
  type TaskRow,
} from './state';

/**
 * One state transition = one database transaction. Every change is conditional on the state it
 * expects (task running, same attempt, run running) while the run row is locked, which is what
 * makes duplicate or late messages harmless and lets several replicas share one database.
 *
 * These are the operations the engine starts a transition with; each is one entry into the
 * modules beside this file, which call each other as a transition ripples through a run:
 *
 * | module       | holds                                                                    |
 * | ------------ | ------------------------------------------------------------------------ |
 * | `state.ts`   | the transaction, its clock, the effects for after commit, the run lock    |
 * | `runs.ts`    | run lifecycle: create, complete, fail (on-failure step), cancel           |
 * | `steps.ts`   | starting a step (`when`, `forEach`, queue or sub-workflow), its dependents |
 * | `dispatch.ts`| an attempt recorded and its request queued; sub-workflow runs; retries    |
 * | `fan-out.ts` | items released by concurrency, counted, joined or failed by join policy   |
 * | `results.ts` | results, heartbeats, timeouts, retries with backoff, finishing tasks      |
 * | `admission.ts` | queue limits: in-flight cap, rate, priority order (queues.yaml)        |
 *
 * The transaction boundary stays in the engine (`Engine.transact` in engine.ts): nothing here
 * commits, and nothing here talks to the broker (see effects.ts).
 */
export class Transition extends TransitionState {
  /** Inserts a run and starts its root steps; with an existing idempotency key, returns that run. */
  createRun(params: {
    def: WorkflowDefinition;
    input: unknown;
    idempotencyKey?: string | undefined;
    callbackUrl?: string | undefined;
    priority?: number;
  }): Promise<{ run: RunRow; created: boolean }> {
    return createRun(this, params);
  }

  /** Ends a run unsuccessfully; runs the on-failure step first when the workflow has one. */
  failRun(
    run: LockedRun,
    status: 'failed' | 'timed_out' | 'cancelled',
    error: StepError,
  ): Promise<void> {
    return failRun(this, run, status, error);
  }

  cancelRun(run: LockedRun, reason: string): Promise<void> {
    return cancelRun(this, run, reason);
  }

  applyResult(
    run: LockedRun,
    result: StepResult,
    succeeded?: { readonly task: TaskRow | undefined },
  ): Promise<Applied | Ignored> {
    return applyResult(this, run, result, succeeded);
  }

  /**
   * PostgreSQL: locks the run and records a success in one statement; its `task` goes to
   * applyResult as `succeeded` (results.ts).
   */
  lockRunAndSucceed(
    result: Extract<StepResult, { status: 'succeeded' }>,
  ): Promise<{ run: LockedRun | undefined; task: TaskRow | undefined }> {
    return lockRunAndSucceed(this, result);
  }

  timeoutAttempt(run: LockedRun, task: TaskRow): Promise<void> {
    return timeoutAttempt(this, run, task);
  }

  /** Sends the next attempt of a task whose retry is due. */
  retryTask(run: LockedRun, task: TaskRow): Promise<void> {
    return retryTask(this, run, task);
  }

  /** Sends a step that waited for its queue's limits, if they let it go now. */
  admitQueued(run: LockedRun, task: TaskRow): Promise<boolean> {
    return admitQueued(this, run, task);
  }

  /** What the transaction's changes left to do before it commits (fan-out releases). */
  settle(): Promise<void> {
    return settleFanOuts(this);
  }

  /** A heartbeat: pushes the deadline of the current attempt (no run lock: touches one row). */
  heartbeat(
    taskId: string,
    attempt: number,
    progress: number | undefined,
    message: string | undefined,
  ): Promise<boolean> {
    return heartbeat(this, taskId, attempt, progress, message);
  }
}
