import { uuidv7 } from '../../store/ids';
import type { StepError } from '@conveyor/contracts';
import type { WorkflowDefinition } from '../../definitions/model';
import { placeholders } from '../../store/statements';
import type { RunStatusValue } from '../../store/tables';
import { dispatch } from './dispatch';
import { afterTaskFinished, finishTask } from './results';
import { ACTIVE, type LockedRun, type RunRow, type TransitionState } from './state';
import { expressionContext, insertTask, queueOf, startStep } from './steps';

// A run's life: created with its root steps started, completed (which may finish the task of a
// parent run), failed through its on-failure step, or cancelled with everything it started.

/** Every column of a run row, in the order of INSERT_RUN's values. */
const RUN_COLUMNS = [
  'id',
  'workflow',
  'version',
  'status',
  'input',
  'output',
  'error',
  'idempotency_key',
  'parent_run_id',
  'parent_task_id',
  'created_at',
  'finished_at',
  'deadline_at',
  'callback_url',
  'final_status',
  'completion_published',
  'completion_attempts',
  'priority',
] as const satisfies readonly (keyof RunRow)[];

const INSERT_RUN = `INSERT INTO runs (${RUN_COLUMNS.join(', ')}) VALUES (${placeholders(RUN_COLUMNS.length)})
  ON CONFLICT (workflow, idempotency_key) DO NOTHING RETURNING id`;

/** Inserts a run and starts its root steps; with an existing idempotency key, returns that run. */
export async function createRun(
  tx: TransitionState,
  params: {
    def: WorkflowDefinition;
    input: unknown;
    idempotencyKey?: string | undefined;
    callbackUrl?: string | undefined;
    parentRunId?: string;
    parentTaskId?: string;
    /** Dispatch order of its steps on limited queues (higher first); sub-runs inherit it. */
    priority?: number;
  },
): Promise<{ run: RunRow; created: boolean }> {
  const { def } = params;
  const row: RunRow = {
    id: uuidv7(),
    workflow: def.name,
    version: def.version,
    status: 'running',
    input: JSON.stringify(params.input ?? null),
    output: null,
    error: null,
    idempotency_key: params.idempotencyKey ?? null,
    parent_run_id: params.parentRunId ?? null,
    parent_task_id: params.parentTaskId ?? null,
    created_at: tx.now,
    finished_at: null,
    deadline_at: def.timeoutMs !== undefined ? tx.now + def.timeoutMs : null,
    callback_url: params.callbackUrl ?? null,
    final_status: null,
    completion_published: 0,
    completion_attempts: 0,
    priority: params.priority ?? 0,
  };
  const [inserted] = await tx.all<{ id: string }>(
    INSERT_RUN,
    RUN_COLUMNS.map((c) => row[c]),
  );
  if (!inserted) {
    const existing = await tx.trx
      .selectFrom('runs')
      .selectAll()
      .where('workflow', '=', def.name)
      .where('idempotency_key', '=', params.idempotencyKey ?? '')
      .executeTakeFirstOrThrow();
    return { run: existing, created: false };
  }
  tx.deps.metrics.runsStarted.inc({ workflow: def.name });
  const run: LockedRun = { row, def };
  tx.event(run, {
    event: 'run.started',
    ...(row.parent_run_id ? { parentRunId: row.parent_run_id } : {}),
  });
  for (const step of def.steps) {
    if (step.needs.length === 0) await startStep(tx, run, step);
    if (run.row.status !== 'running') break;
  }
  return { run: run.row, created: true };
}

export async function completeRun(
  tx: TransitionState,
  run: LockedRun,
  status: RunStatusValue,
  output: unknown,
  error: StepError | undefined,
): Promise<void> {
  if (run.row.status !== 'running') return;
  const patch = {
    status,
    output: output === undefined ? null : JSON.stringify(output),
    error: error ? JSON.stringify(error) : null,
    finished_at: tx.now,
    final_status: null,
    completion_published: 0,
  };
  await tx.run(
    `UPDATE runs SET status = ?, output = ?, error = ?, finished_at = ?, final_status = NULL,
      completion_published = 0 WHERE id = ? AND status = 'running'`,
    [patch.status, patch.output, patch.error, patch.finished_at, run.row.id],
  );
  run.row = { ...run.row, ...patch };
  tx.deps.metrics.runsCompleted.inc({ workflow: run.def.name, status });
  tx.effects.push({ kind: 'run-completed', runId: run.row.id, run: run.row });
  if (run.row.parent_run_id && run.row.parent_task_id) {
    await childRunFinished(
      tx,
      run.row.parent_run_id,
      run.row.parent_task_id,
      run.row,
      output,
      error,
    );
  }
}

/** A sub-workflow run ended: its parent's task succeeds or fails with it. */
export async function childRunFinished(
  tx: TransitionState,
  parentRunId: string,
  taskId: string,
  child: RunRow,
  output: unknown,
  error: StepError | undefined,
): Promise<void> {
  const parent = await tx.lockRun(parentRunId);
  if (!parent || parent.row.status !== 'running') return;
  const task = await tx.trx
    .selectFrom('tasks')
    .selectAll()
    .where('id', '=', taskId)
    .executeTakeFirst();
  if (!task || task.status !== 'running' || task.child_run_id !== child.id) return;
  if (child.status === 'succeeded') {
    await finishTask(tx, task, 'succeeded', output ?? null, undefined);
    await afterTaskFinished(tx, parent, task, 'succeeded', undefined, {
      output: output ?? null,
    });
  } else {
    const stepError: StepError = {
      message: `sub-workflow ${child.workflow} (run ${child.id}) ${child.status.replace('_', ' ')}: ${error?.message ?? 'no error recorded'}`,
      code: error?.code ?? 'SUB_WORKFLOW_FAILED',
      retryable: false,
    };
    await finishTask(tx, task, 'failed', undefined, stepError);
    await afterTaskFinished(tx, parent, task, 'failed', stepError);
  }
}

/** Ends a run unsuccessfully; runs the on-failure step first when the workflow has one. */
export async function failRun(
  tx: TransitionState,
  run: LockedRun,
  status: 'failed' | 'timed_out' | 'cancelled',
  error: StepError,
): Promise<void> {
  if (run.row.status !== 'running') return;
  await cancelTasks(tx, 'run_id', run.row.id, 'cancelled because its parent run ended');
  const onFailure = run.def.onFailure;
  if (status !== 'cancelled' && onFailure && run.row.final_status === null) {
    const patch = { final_status: status, error: JSON.stringify(error) };
    await tx.trx.updateTable('runs').set(patch).where('id', '=', run.row.id).execute();
    run.row = { ...run.row, ...patch };
    const context = await expressionContext(tx, run, onFailure);
    context.error = error;
    let input: unknown = { error, runId: run.row.id, workflow: run.def.name };
    if (onFailure.input) {
      try {
        input = await onFailure.input.evaluate(context);
      } catch (e) {
        input = { error, runId: run.row.id, inputError: (e as Error).message };
      }
    }
    const task = await insertTask(tx, run, onFailure, {
      kind: 'queue',
      status: 'running',
      input,
      queue: queueOf(onFailure),
      dispatch: true,
    });
    await dispatch(tx, run, [task], true);
    return;
  }
  await completeRun(tx, run, status, undefined, error);
}

export async function cancelRun(tx: TransitionState, run: LockedRun, reason: string) {
  await failRun(tx, run, 'cancelled', { message: reason, code: 'CANCELLED', retryable: false });
}

/**
 * Cancels the active tasks of a run (`run_id`) or of a fan-out (`parent_id`), their running
 * attempts, and the sub-workflow runs they started.
 */
export async function cancelTasks(
  tx: TransitionState,
  scope: 'run_id' | 'parent_id',
  id: string,
  childReason: string,
): Promise<void> {
  const active = tx.trx.selectFrom('tasks').where(scope, '=', id).where('status', 'in', ACTIVE);
  const children = await active
    .select('child_run_id')
    .where('child_run_id', 'is not', null)
    .execute();
  await tx.trx
    .updateTable('attempts')
    .set({ status: 'cancelled', finished_at: tx.now })
    .where('status', '=', 'running')
    .where('task_id', 'in', active.select('id'))
    .execute();
  await tx.trx
    .updateTable('tasks')
    .set({ status: 'cancelled', finished_at: tx.now, deadline_at: null, retry_at: null })
    .where(scope, '=', id)
    .where('status', 'in', ACTIVE)
    .execute();
  // Slots of limited queues held by the cancelled attempts are free now.
  if (tx.deps.registry.limitedQueues().length > 0) tx.effects.push({ kind: 'wake', at: tx.now });
  for (const { child_run_id } of children) {
    const child = child_run_id ? await tx.lockRun(child_run_id) : undefined;
    if (child) await cancelRun(tx, child, childReason);
  }
}
