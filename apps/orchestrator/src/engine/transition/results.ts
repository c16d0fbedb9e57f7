import type { StepError, StepResult } from '@conveyor/contracts';
import { formatDuration } from '../../definitions/duration';
import { backoffDelay } from '../backoff';
import { limitsOf } from './admission';
import { itemFinished } from './fan-out';
import type {
  Applied,
  Ignored,
  KnownOutput,
  LockedRun,
  RunRow,
  TaskRow,
  TransitionState,
} from './state';
import { stepFinished } from './steps';

// What comes back from workers: results (applied only to the attempt they answer), heartbeats,
// and the absence of either (timeouts); failures retry with backoff or finish the task.

export async function applyResult(
  tx: TransitionState,
  run: LockedRun,
  result: StepResult,
  /** Set when lockRunAndSucceed already ran this success's statement (its task, if it moved). */
  succeeded?: { readonly task: TaskRow | undefined },
): Promise<Applied | Ignored> {
  if (run.row.status !== 'running') return { applied: false, reason: 'run-finished' };
  if (result.status === 'succeeded') {
    // The common case in one statement: the task moves from running (this attempt) to
    // succeeded, or nothing changes and the result is a duplicate, late or unknown.
    const output = result.output ?? null;
    // When the fused statement moved nothing, it runs again on its own: the fused one read the
    // tasks as they were before it waited for the run's lock, so a task that the lock's holder
    // (another replica) inserted meanwhile — this very step, recorded from its chain — was not
    // there for it yet.
    const task =
      succeeded?.task ??
      takeSucceededAhead(tx, result) ??
      (await succeedTask(tx, result, JSON.stringify(output)));
    if (!task) return ignored(tx, run, result);
    observeDuration(tx, task, 'succeeded');
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
  const { task, stepRecorded } = await readTask(tx, run, result);
  if (!task) return earlyOrUnknown(run, result, stepRecorded);
  const why = whyIgnored(task, result);
  if (why) return why;
  observeDuration(tx, task, 'failed');
  await failAttempt(tx, run, task, result.error, 'failed', result.workerId);
  return { applied: true };
}

/** The task of this success when links-ahead.ts already wrote it succeeded (its one use). */
function takeSucceededAhead(tx: TransitionState, result: StepResult): TaskRow | undefined {
  const task = tx.succeededAhead.get(result.taskId);
  if (task === undefined || task.attempt !== result.attempt) return undefined;
  tx.succeededAhead.delete(result.taskId);
  return task;
}

const SUCCEED_TASK = `UPDATE tasks SET status = 'succeeded', output = ?, error = NULL, finished_at = ?,
  deadline_at = NULL, retry_at = NULL
  WHERE id = ? AND run_id = ? AND kind = 'queue' AND attempt = ? AND status = 'running'`;

/**
 * The task of a successful result moves from running (this attempt) to succeeded, and its
 * attempt with it; undefined when nothing changed (a duplicate, late or unknown result). One
 * statement on PostgreSQL (one round trip), two synchronous ones on SQLite.
 */
async function succeedTask(
  tx: TransitionState,
  result: StepResult,
  output: string,
): Promise<TaskRow | undefined> {
  const params = [output, tx.now, result.taskId, result.runId, result.attempt];
  let task: TaskRow | undefined;
  if (tx.deps.dialect === 'postgres') {
    [task] = await tx.all<TaskRow>(
      `WITH t AS (${SUCCEED_TASK} RETURNING *),
        a AS (UPDATE attempts SET status = 'succeeded', finished_at = ?, error = NULL, worker_id = ?
          FROM t WHERE attempts.task_id = t.id AND attempts.attempt = t.attempt)
        SELECT * FROM t`,
      [...params, tx.now, result.workerId ?? null],
    );
    if (task && limitsOf(tx, task.queue)) tx.effects.push({ kind: 'wake', at: tx.now });
    return task;
  }
  [task] = await tx.all<TaskRow>(`${SUCCEED_TASK} RETURNING *`, params);
  if (task) await finishAttempt(tx, task, 'succeeded', undefined, result.workerId);
  return task;
}

/**
 * PostgreSQL: a run's first result, when it is a success, locks the run and records the success
 * in one statement — one round trip instead of two (each costs a write system call on both
 * sides and a wake-up of the database backend: most of what a step costs there). The task moves
 * only while the run is running, as applyResult requires; `task` is undefined when nothing moved
 * (finished run, duplicate, late or unknown result — or a task inserted by whoever held the run's
 * lock while this statement waited for it, which its snapshot predates: applyResult then runs
 * the success statement again, alone, and says which).
 */
export async function lockRunAndSucceed(
  tx: TransitionState,
  result: Extract<StepResult, { status: 'succeeded' }>,
): Promise<{ run: LockedRun | undefined; task: TaskRow | undefined }> {
  const output = JSON.stringify(result.output ?? null);
  const [row] = await tx.all<{ run: RunRow | null; task: TaskRow | null }>(
    `WITH r AS (SELECT * FROM runs WHERE id = ? FOR UPDATE),
      t AS (${SUCCEED_TASK} AND EXISTS (SELECT 1 FROM r WHERE r.status = 'running') RETURNING *),
      a AS (UPDATE attempts SET status = 'succeeded', finished_at = ?, error = NULL, worker_id = ?
        FROM t WHERE attempts.task_id = t.id AND attempts.attempt = t.attempt)
      SELECT (SELECT row_to_json(r) FROM r) AS run, (SELECT row_to_json(t) FROM t) AS task`,
    [
      result.runId,
      output,
      tx.now,
      result.taskId,
      result.runId,
      result.attempt,
      tx.now,
      result.workerId ?? null,
    ],
  );
  if (!row?.run) return { run: undefined, task: undefined };
  const task = row.task ?? undefined;
  // As in succeedTask: a limited queue's freed slot may admit a held step.
  if (task && limitsOf(tx, task.queue)) tx.effects.push({ kind: 'wake', at: tx.now });
  return { run: await tx.locked(row.run), task };
}

/** Why a success changed nothing (read only then: duplicates and late results are rare). */
async function ignored(tx: TransitionState, run: LockedRun, result: StepResult): Promise<Ignored> {
  const { task, stepRecorded } = await readTask(tx, run, result);
  if (!task) return earlyOrUnknown(run, result, stepRecorded);
  return whyIgnored(task, result) ?? { applied: false, reason: 'duplicate' };
}

/**
 * A result's task as it is, and whether its step has a task in the run at all (for when it has
 * none), in one statement of plain SQL (store/statements.ts): an early result — one that
 * overtook the result recording its step, several per hundred steps one chain at a time — takes
 * this path once before it is held, one round trip on PostgreSQL instead of two.
 */
async function readTask(
  tx: TransitionState,
  run: LockedRun,
  result: StepResult,
): Promise<{ task: TaskRow | undefined; stepRecorded: boolean }> {
  const [row] = await tx.all<Partial<TaskRow> & { step_recorded: number | null }>(
    `SELECT t.*, (SELECT 1 FROM tasks s WHERE s.run_id = ? AND s.step = ? AND s.item_index = -1)
        AS step_recorded
      FROM (SELECT 1 AS one) o LEFT JOIN tasks t ON t.id = ?`,
    [run.row.id, result.step, result.taskId],
  );
  return {
    task: row?.id == null ? undefined : (row as TaskRow),
    stepRecorded: row?.step_recorded != null,
  };
}

/**
 * A result for a task this database does not hold: `early` when its step has no task yet in
 * this running run — a step a worker started from a chain, whose result overtook the result
 * that records it (the engine retries it) — else unknown (e.g. a chain started by an attempt
 * whose result was not the one accepted: the step already has another task).
 */
function earlyOrUnknown(run: LockedRun, result: StepResult, stepRecorded: boolean): Ignored {
  const ofThisRun = result.runId === run.row.id && run.def.stepsByName.has(result.step);
  return { applied: false, reason: ofThisRun && !stepRecorded ? 'early' : 'unknown-task' };
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
  // One statement: the deadline moves from now by the task's own timeout.
  const rows = await tx.all<{ id: string }>(
    `UPDATE tasks SET deadline_at = CAST(? AS bigint) + timeout_ms, progress = ?, progress_message = ?
      WHERE id = ? AND attempt = ? AND status = 'running' RETURNING id`,
    [tx.now, progress ?? null, message ?? null, taskId, attempt],
  );
  return rows.length > 0;
}

async function finishAttempt(
  tx: TransitionState,
  task: TaskRow,
  status: 'succeeded' | 'failed' | 'timed_out',
  error: StepError | undefined,
  workerId: string | undefined,
): Promise<void> {
  await tx.run(
    'UPDATE attempts SET status = ?, finished_at = ?, error = ?, worker_id = ? WHERE task_id = ? AND attempt = ?',
    [status, tx.now, error ? JSON.stringify(error) : null, workerId ?? null, task.id, task.attempt],
  );
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
  await tx.run(
    `UPDATE tasks SET status = ?, output = ?, error = ?, finished_at = ?, deadline_at = NULL,
      retry_at = NULL WHERE id = ?`,
    [
      status,
      status === 'succeeded' ? JSON.stringify(output ?? null) : null,
      error ? JSON.stringify(error) : null,
      tx.now,
      task.id,
    ],
  );
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
