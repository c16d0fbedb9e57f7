import type { StepError } from '@conveyor/contracts';
import type { Kysely, Selectable } from 'kysely';
import { truncateText } from '../limits';
import type { Database, RunsTable, TasksTable } from '../store/tables';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const json = (text: string | null): unknown =>
  text === null ? null : (JSON.parse(text) as unknown);

/** The columns a run summary reads: never the input or output, which may be large. */
export const SUMMARY_COLUMNS = [
  'id',
  'workflow',
  'version',
  'status',
  'created_at',
  'finished_at',
  'idempotency_key',
  'parent_run_id',
  'error',
] as const satisfies readonly (keyof RunsTable)[];

/** Task ids per query of their attempts (an IN list; SQLite allows 32,766 parameters). */
const ATTEMPTS_CHUNK = 500;

/** Longest error message in a summary: enough to recognise it; the detail has the whole error. */
const SUMMARY_MESSAGE_LIMIT = 300;

function errorSummary(text: string | null) {
  if (text === null) return null;
  const error = JSON.parse(text) as StepError;
  return {
    message: truncateText(error.message, SUMMARY_MESSAGE_LIMIT),
    ...(error.code !== undefined ? { code: error.code } : {}),
  };
}

/** A run without its input, output or error details: what lists and the start response carry. */
export function runSummary(run: Pick<Selectable<RunsTable>, (typeof SUMMARY_COLUMNS)[number]>) {
  return {
    id: run.id,
    workflow: run.workflow,
    version: run.version,
    status: run.status,
    createdAt: iso(run.created_at),
    finishedAt: iso(run.finished_at),
    durationMs: run.finished_at === null ? null : run.finished_at - run.created_at,
    idempotencyKey: run.idempotency_key,
    parentRunId: run.parent_run_id,
    error: errorSummary(run.error),
  };
}

function taskView(task: Selectable<TasksTable>, attempts: Map<string, unknown[]>) {
  return {
    taskId: task.id,
    step: task.step,
    ...(task.item_index >= 0 ? { itemIndex: task.item_index } : {}),
    kind: task.kind,
    status: task.status,
    queue: task.queue,
    attempt: task.attempt,
    maxAttempts: task.max_attempts,
    createdAt: iso(task.created_at),
    dispatchedAt: iso(task.dispatched_at),
    finishedAt: iso(task.finished_at),
    durationMs:
      task.finished_at !== null && task.dispatched_at !== null
        ? task.finished_at - task.dispatched_at
        : null,
    deadline: iso(task.deadline_at),
    retryAt: iso(task.retry_at),
    progress: task.progress,
    progressMessage: task.progress_message,
    ...(task.status === 'queued' ? { queuedReason: task.queued_reason } : {}),
    childRunId: task.child_run_id,
    input: json(task.input),
    output: json(task.output),
    error: json(task.error) as StepError | null,
    attempts: attempts.get(task.id) ?? [],
    ...(task.kind === 'fanout'
      ? {
          fanOut: {
            total: task.fan_total,
            released: task.fan_released,
            succeeded: task.fan_succeeded,
            failed: task.fan_failed,
          },
        }
      : {}),
  };
}

/** A run with every step, its attempts and, for fan-outs, the first `itemLimit` items. */
export async function runDetail(db: Kysely<Database>, runId: string, itemLimit = 200) {
  const run = await db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
  if (!run) return undefined;
  const steps = await db
    .selectFrom('tasks')
    .selectAll()
    .where('run_id', '=', runId)
    .where('item_index', '=', -1)
    .orderBy('created_at')
    .execute();
  const items = new Map<string, Selectable<TasksTable>[]>();
  for (const step of steps) {
    if (step.kind !== 'fanout') continue;
    items.set(
      step.id,
      await db
        .selectFrom('tasks')
        .selectAll()
        .where('parent_id', '=', step.id)
        .orderBy('item_index')
        .limit(itemLimit)
        .execute(),
    );
  }
  // The attempts of the tasks shown, by their primary key (task_id, attempt): the attempts table
  // has no index on run_id (a page fewer for every step to write).
  const shown = [...steps, ...[...items.values()].flat()].map((t) => t.id);
  const byTask = new Map<string, unknown[]>();
  for (let i = 0; i < shown.length; i += ATTEMPTS_CHUNK) {
    const attempts = await db
      .selectFrom('attempts')
      .selectAll()
      .where('task_id', 'in', shown.slice(i, i + ATTEMPTS_CHUNK))
      .orderBy('attempt')
      .execute();
    for (const a of attempts) {
      const list = byTask.get(a.task_id) ?? [];
      list.push({
        attempt: a.attempt,
        status: a.status,
        dispatchedAt: iso(a.dispatched_at),
        finishedAt: iso(a.finished_at),
        durationMs: a.finished_at === null ? null : a.finished_at - a.dispatched_at,
        workerId: a.worker_id,
        error: json(a.error),
      });
      byTask.set(a.task_id, list);
    }
  }
  const views = [];
  for (const step of steps) {
    const view = taskView(step, byTask);
    const stepItems = items.get(step.id);
    if (stepItems) {
      views.push({
        ...view,
        items: stepItems.map((i) => taskView(i, byTask)),
        itemsTruncated: (step.fan_total ?? 0) > stepItems.length,
      });
    } else views.push(view);
  }
  return {
    ...runSummary(run),
    error: json(run.error) as StepError | null,
    input: json(run.input),
    output: json(run.output),
    deadline: iso(run.deadline_at),
    callbackUrl: run.callback_url,
    priority: run.priority,
    steps: views,
  };
}

export async function fanOutItems(
  db: Kysely<Database>,
  runId: string,
  step: string,
  query: { offset: number; limit: number; status?: string | undefined },
) {
  const parent = await db
    .selectFrom('tasks')
    .selectAll()
    .where('run_id', '=', runId)
    .where('step', '=', step)
    .where('item_index', '=', -1)
    .executeTakeFirst();
  if (!parent) return undefined;
  let q = db.selectFrom('tasks').selectAll().where('parent_id', '=', parent.id);
  if (query.status) q = q.where('status', '=', query.status as Selectable<TasksTable>['status']);
  const items = await q.orderBy('item_index').offset(query.offset).limit(query.limit).execute();
  return {
    step,
    total: parent.fan_total ?? 0,
    offset: query.offset,
    items: items.map((i) => taskView(i, new Map())),
  };
}
