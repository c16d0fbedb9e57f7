import type { StepError, StepResult } from '@conveyor/contracts';
import { formatDuration } from '../../definitions/duration';
import { backoffDelay } from '../backoff';
import { limitsOf } from './admission';
import { itemFinished } from './fan-out';
import type { Applied, Ignored, KnownOutput, LockedRun, TaskRow, TransitionState } from './state';
import { stepFinished } from './steps';

// What comes back from workers: results (applied only to the attempt they answer), heartbeats,
// and the absence of either (timeouts); failures retry with backoff or finish the task.

export async function applyResult(
  tx: TransitionState,
  run: LockedRun,
  result: StepResult,
): Promise<Applied | Ignored> {
  if (run.row.status !== 'running') return { applied: false, reason: 'run-finished' };
  if (result.status === 'succeeded') {
    // The common case in one statement: the task moves from running (this attempt) to
    // succeeded, or nothing changes and the result is a duplicate, late or unknown.
    const output = result.output ?? null;
    const task = await tx.trx
      .updateTable('tasks')
      .set({
        status: 'succeeded',
        output: JSON.stringify(output),
        error: null,
        finished_at: tx.now,
        deadline_at: null,
        retry_at: null,
      })
      .where('id', '=', result.taskId)
      .where('run_id', '=', result.runId)
      .where('kind', '=', 'queue')
      .where('attempt', '=', result.attempt)
      .where('status', '=', 'running')
      .returningAll()
      .executeTakeFirst();
    if (!task) return ignored(tx, run, result);
    observeDuration(tx, task, 'succeeded');
    await finishAttempt(tx, task, 'succeeded', undefined, result.workerId);
    tx.stepEvent(run, {
      event: 'step.succeeded',
      step: task.step,
      taskId: task.id,
      attempt: task.attempt,
      itemIndex: task.item_index,
    });
    await afterTaskFinished(tx, run, task, 'succeeded', undefined, {
      output,
      continuedAs: result.continuedAs,
    });
    return { applied: true };
  }
  const task = await tx.trx
    .selectFrom('tasks')
    .selectAll()
    .where('id', '=', result.taskId)
    .executeTakeFirst();
  if (!task) return early(tx, run, result);
  const why = whyIgnored(task, result);
  if (why) return why;
  observeDuration(tx, task, 'failed');
  await failAttempt(tx, run, task, result.error, 'failed', result.workerId);
  return { applied: true };
}

/** Why a success changed nothing (read only then: duplicates and late results are rare). */
async function ignored(tx: TransitionState, run: LockedRun, result: StepResult): Promise<Ignored> {
  const task = await tx.trx
    .selectFrom('tasks')
    .selectAll()
    .where('id', '=', result.taskId)
    .executeTakeFirst();
  if (!task) return early(tx, run, result);
  return whyIgnored(task, result) ?? { applied: false, reason: 'duplicate' };
}

/**
 * A result for a task this database does not hold: `early` when its step has no task yet in
 * this running run — a step a worker started from a chain, whose result overtook the result
 * that records it (the engine retries it) — else unknown (e.g. a chain started by an attempt
 * whose result was not the one accepted: the step already has another task).
 */
async function early(tx: TransitionState, run: LockedRun, result: StepResult): Promise<Ignored> {
  if (result.runId !== run.row.id || !run.def.stepsByName.has(result.step))
    return { applied: false, reason: 'unknown-task' };
  const sibling = await tx.trx
    .selectFrom('tasks')
    .select('id')
    .where('run_id', '=', run.row.id)
    .where('step', '=', result.step)
    .where('item_index', '=', -1)
    .executeTakeFirst();
  return { applied: false, reason: sibling ? 'unknown-task' : 'early' };
}

/** Whether a result must be ignored for this task row, and why; undefined = apply it. */
function whyIgnored(task: TaskRow | undefined, result: StepResult): Ignored | undefined {
  if (!task || task.run_id !== result.runId || task.kind !== 'queue')
    return { applied: false, reason: 'unknown-task' };
  if (task.attempt !== result.attempt) return { applied: false, reason: 'stale-attempt' };
  if (task.status !== 'running') return { applied: false, reason: 'duplicate' };
  return undefined;
}

function observeDuration(tx: TransitionState, task: TaskRow, outcome: StepResult['status']) {
  if (task.dispatched_at === null) return;
  tx.deps.metrics.stepDuration.observe(
    { queue: task.queue ?? '', outcome },
    (tx.now - task.dispatched_at) / 1000,
  );
}

export async function timeoutAttempt(
  tx: TransitionState,
  run: LockedRun,
  task: TaskRow,
): Promise<void> {
  const item = task.item_index >= 0 ? ` item ${task.item_index}` : '';
  const error: StepError = {
    message: `step ${task.step}${item} on queue ${task.queue} sent no result within ${formatDuration(task.timeout_ms)} (attempt ${task.attempt} of ${task.max_attempts}): check that a worker consumes "${task.queue}", raise the step \`timeout\`, or send heartbeats from long steps`,
    code: 'STEP_TIMEOUT',
    retryable: true,
  };
  await failAttempt(tx, run, task, error, 'timed_out', undefined);
}

/** An attempt failed: retry it after a backoff while attempts remain, else fail the task. */
async function failAttempt(
  tx: TransitionState,
  run: LockedRun,
  task: TaskRow,
  error: StepError,
  attemptStatus: 'failed' | 'timed_out',
  workerId: string | undefined,
): Promise<void> {
  await finishAttempt(tx, task, attemptStatus, error, workerId);
  if (error.retryable && task.attempt < task.max_attempts) {
    const step = run.def.stepsByName.get(task.step) ?? run.def.onFailure;
    const retryAt = tx.now + (step ? backoffDelay(step.retry, task.attempt) : 1000);
    await tx.trx
      .updateTable('tasks')
      .set({
        status: 'waiting_retry',
        retry_at: retryAt,
        deadline_at: null,
        error: JSON.stringify(error),
      })
      .where('id', '=', task.id)
      .execute();
    tx.deps.metrics.retries.inc({
      queue: task.queue ?? '',
      reason: attemptStatus === 'timed_out' ? 'timeout' : 'error',
    });
    tx.effects.push({ kind: 'wake', at: retryAt });
    tx.stepEvent(run, {
      event: 'step.retrying',
      step: task.step,
      taskId: task.id,
      attempt: task.attempt,
      itemIndex: task.item_index,
      error,
      retryAt: new Date(retryAt).toISOString(),
    });
    return;
  }
  const final: StepError =
    error.retryable && task.max_attempts > 1
      ? { ...error, message: `${error.message} — gave up after ${task.attempt} attempts` }
      : error;
  await finishTask(tx, task, 'failed', undefined, final);
  tx.stepEvent(run, {
    event: 'step.failed',
    step: task.step,
    taskId: task.id,
    attempt: task.attempt,
    itemIndex: task.item_index,
    error: final,
  });
  await afterTaskFinished(tx, run, task, 'failed', final);
}

/** A heartbeat: pushes the deadline of the current attempt (no run lock: touches one row). */
export async function heartbeat(
  tx: TransitionState,
  taskId: string,
  attempt: number,
  progress: number | undefined,
  message: string | undefined,
): Promise<boolean> {
  const task = await tx.trx
    .selectFrom('tasks')
    .select(['timeout_ms'])
    .where('id', '=', taskId)
    .where('attempt', '=', attempt)
    .where('status', '=', 'running')
    .executeTakeFirst();
  if (!task) return false;
  await tx.trx
    .updateTable('tasks')
    .set({
      deadline_at: tx.now + task.timeout_ms,
      progress: progress ?? null,
      progress_message: message ?? null,
    })
    .where('id', '=', taskId)
    .where('attempt', '=', attempt)
    .where('status', '=', 'running')
    .execute();
  return true;
}

async function finishAttempt(
  tx: TransitionState,
  task: TaskRow,
  status: 'succeeded' | 'failed' | 'timed_out',
  error: StepError | undefined,
  workerId: string | undefined,
): Promise<void> {
  await tx.trx
    .updateTable('attempts')
    .set({
      status,
      finished_at: tx.now,
      error: error ? JSON.stringify(error) : null,
      worker_id: workerId ?? null,
    })
    .where('task_id', '=', task.id)
    .where('attempt', '=', task.attempt)
    .execute();
  // Its slot is free: a step waiting for the queue may go (the engine's next pass admits it).
  if (limitsOf(tx, task.queue)) tx.effects.push({ kind: 'wake', at: tx.now });
}

export async function finishTask(
  tx: TransitionState,
  task: TaskRow,
  status: 'succeeded' | 'failed',
  output: unknown,
  error: StepError | undefined,
): Promise<void> {
  await tx.trx
    .updateTable('tasks')
    .set({
      status,
      output: status === 'succeeded' ? JSON.stringify(output ?? null) : null,
      error: error ? JSON.stringify(error) : null,
      finished_at: tx.now,
      deadline_at: null,
      retry_at: null,
    })
    .where('id', '=', task.id)
    .execute();
}

/** A task reached a final state: an item counts towards its fan-out, a step moves the run on. */
export async function afterTaskFinished(
  tx: TransitionState,
  run: LockedRun,
  task: TaskRow,
  status: 'succeeded' | 'failed',
  error: StepError | undefined,
  known?: KnownOutput,
): Promise<void> {
  if (task.parent_id) await itemFinished(tx, run, task, status, error);
  else await stepFinished(tx, run, task.step, status, error, known);
}
