import type { StepError, StepRequest } from '@conveyor/contracts';
import { stepIdempotencyKey } from '@conveyor/contracts';
import type { StepDefinition, WorkflowDefinition } from '../../definitions/model';
import { placeholders } from '../../store/statements';
import { chainAfter } from '../chain';
import { admitAll, limitsOf } from './admission';
import { childRunFinished, createRun } from './runs';
import { runInput, type LockedRun, type TaskRow, type TransitionState } from './state';

// Sending work out: a task's attempt recorded as running and its request queued for after the
// commit (or a sub-workflow run started in the same transaction).

/** Rows per statement when many tasks are dispatched at once (a fan-out's release). */
const CHUNK = 200;

/**
 * Marks tasks running for their current attempt and queues their requests (after commit);
 * `alreadyWritten`: insertTask wrote the (one) task running (and its attempt, see
 * TransitionState.attemptWritten); `continued`: a worker already sent the task's request, only
 * the record is written.
 */
export async function dispatch(
  tx: TransitionState,
  run: LockedRun,
  candidates: TaskRow[],
  alreadyWritten = false,
  continued = false,
): Promise<number> {
  // A worker that continued a chain already sent its request: it is recorded, never held back
  // (chains stop before limited queues, see chainAfter's `mayChainTo`).
  const tasks = continued ? candidates : await admitted(tx, run, candidates);
  if (tasks.length === 0) return 0;
  const byAttempt = new Map<number, TaskRow[]>();
  for (const t of tasks) byAttempt.set(t.attempt, [...(byAttempt.get(t.attempt) ?? []), t]);
  const timeout = tasks[0]?.timeout_ms ?? 0;
  const uniformTimeout = tasks.every((t) => t.timeout_ms === timeout);
  for (const [attempt, group] of alreadyWritten ? [] : byAttempt) {
    const running = `UPDATE tasks SET status = 'running', attempt = ?, dispatched_at = ?, deadline_at = ?,
      retry_at = NULL, published = 0, queued_reason = NULL WHERE id`;
    if (uniformTimeout) {
      for (let i = 0; i < group.length; i += CHUNK) {
        const ids = group.slice(i, i + CHUNK).map((t) => t.id);
        await tx.run(`${running} IN (${placeholders(ids.length)})`, [
          attempt,
          tx.now,
          tx.now + timeout,
          ...ids,
        ]);
      }
    } else {
      for (const t of group)
        await tx.run(`${running} = ?`, [attempt, tx.now, tx.now + t.timeout_ms, t.id]);
    }
  }
  // insertTask wrote the attempt of a task inserted running, unless its queue could hold it.
  const withoutAttempt = tasks.filter((t) => !tx.attemptWritten.has(t));
  for (let i = 0; i < withoutAttempt.length; i += CHUNK) {
    const chunk = withoutAttempt.slice(i, i + CHUNK);
    const params: unknown[] = [];
    for (const t of chunk) params.push(t.id, t.attempt, run.row.id, tx.now);
    await tx.run(
      `INSERT INTO attempts (task_id, attempt, run_id, status, dispatched_at) VALUES ${chunk
        .map(() => "(?, ?, ?, 'running', ?)")
        .join(', ')}`,
      params,
    );
  }
  for (const t of tasks) {
    if (!continued) {
      const chain =
        t.item_index === -1 && tx.deps.chainLinks > 0
          ? chainAfter(
              run.def,
              t.step,
              tx.deps.chainLinks,
              () => ({ json: run.row.input, value: runInput(run) }),
              (queue) => limitsOf(tx, queue) === undefined,
            )
          : undefined;
      const request = buildRequest(
        run.def,
        { ...t, deadline_at: tx.now + t.timeout_ms },
        tx.deps,
        tx.inputs.has(t) ? { value: tx.inputs.get(t) } : undefined,
        chain,
      );
      tx.effects.push({ kind: 'dispatch', request });
    }
    tx.stepEvent(run, {
      event: 'step.dispatched',
      step: t.step,
      taskId: t.id,
      attempt: t.attempt,
      itemIndex: t.item_index,
      queue: t.queue ?? '',
    });
  }
  return tasks.length;
}

/** The tasks their queues' limits let go now; the others are marked `queued` with the reason. */
async function admitted(tx: TransitionState, run: LockedRun, tasks: TaskRow[]): Promise<TaskRow[]> {
  if (!tasks.some((t) => limitsOf(tx, t.queue))) return tasks;
  const verdicts = await admitAll(tx, tasks);
  const go: TaskRow[] = [];
  for (const [i, task] of tasks.entries()) {
    const verdict = verdicts[i];
    if (!verdict || verdict.admitted) {
      go.push(task);
      continue;
    }
    await tx.trx
      .updateTable('tasks')
      .set({
        status: 'queued',
        queued_reason: verdict.reason,
        attempt: task.attempt,
        dispatched_at: null,
        deadline_at: null,
        // Due at once when waiting for a slot: the sweeper tries the first of each queue.
        retry_at: verdict.retryAt ?? tx.now,
        published: 0,
      })
      .where('id', '=', task.id)
      .execute();
    if (verdict.retryAt !== undefined) tx.effects.push({ kind: 'wake', at: verdict.retryAt });
  }
  return go;
}

/** Sends the next attempt of a task whose retry is due. */
export async function retryTask(tx: TransitionState, run: LockedRun, task: TaskRow) {
  if (run.row.status !== 'running' || task.status !== 'waiting_retry') return;
  await dispatch(tx, run, [{ ...task, attempt: task.attempt + 1 }]);
}

/** Sends a task that waited for its queue, if the queue's limits let it go now. */
export async function admitQueued(
  tx: TransitionState,
  run: LockedRun,
  task: TaskRow,
): Promise<boolean> {
  if (run.row.status !== 'running' || task.status !== 'queued') return false;
  return (await dispatch(tx, run, [task])) > 0;
}

/** Starts the sub-workflow run of a `workflow:` step (or fan-out item) in this transaction. */
export async function startChildRun(
  tx: TransitionState,
  run: LockedRun,
  step: StepDefinition,
  task: TaskRow,
  input: unknown,
): Promise<void> {
  if (step.action.kind !== 'workflow') return;
  // A sub-workflow runs the latest version registered when it starts.
  const def = tx.deps.registry.latestVersion(step.action.workflow);
  if (!def) throw new Error(`sub-workflow ${step.action.workflow} is not registered`);
  const { run: child } = await createRun(tx, {
    def,
    input,
    parentRunId: run.row.id,
    parentTaskId: task.id,
    priority: run.row.priority,
  });
  await tx.trx
    .updateTable('tasks')
    .set({ child_run_id: child.id, dispatched_at: tx.now })
    .where('id', '=', task.id)
    .execute();
  // The child may have finished synchronously (every step skipped): propagate now.
  if (child.status !== 'running') {
    const fresh = await tx.trx
      .selectFrom('tasks')
      .selectAll()
      .where('id', '=', task.id)
      .executeTakeFirstOrThrow();
    const error = child.error ? (JSON.parse(child.error) as StepError) : undefined;
    await childRunFinished(
      tx,
      run.row.id,
      fresh.id,
      child,
      child.output ? (JSON.parse(child.output) as unknown) : null,
      error,
    );
  }
}

/** The StepRequest of a task's current attempt (also used to republish unconfirmed ones). */
export function buildRequest(
  def: Pick<WorkflowDefinition, 'name' | 'version'>,
  task: TaskRow,
  names: { replyTo: string; progressTo: string },
  /** The task's input when the caller holds it (else parsed from `task.input`). */
  input?: { readonly value: unknown },
  chain?: StepRequest['chain'],
): StepRequest {
  return {
    type: 'workflow.step.request',
    version: 1,
    taskId: task.id,
    attempt: task.attempt,
    runId: task.run_id,
    workflow: { name: def.name, version: def.version },
    step: task.step,
    queue: task.queue ?? '',
    ...(task.item_index >= 0 ? { itemIndex: task.item_index } : {}),
    idempotencyKey: stepIdempotencyKey(
      task.run_id,
      task.step,
      task.item_index >= 0 ? task.item_index : undefined,
    ),
    input: input ? input.value : (JSON.parse(task.input ?? 'null') as unknown),
    deadline: new Date(task.deadline_at ?? Date.now() + task.timeout_ms).toISOString(),
    timeoutMs: task.timeout_ms,
    replyTo: names.replyTo,
    progressTo: names.progressTo,
    ...(chain ? { chain } : {}),
  };
}
