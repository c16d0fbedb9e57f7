import type { StepError } from '@conveyor/contracts';
import type { StepDefinition } from '../../definitions/model';
import { uuidv7 } from '../../store/ids';
import { placeholders } from '../../store/statements';
import type { TaskStatus } from '../../store/tables';
import type { LockedRun, TaskRow, TransitionState } from './state';

// A new task's row and its first attempt, as every insert writes them (steps.ts insertTask,
// links-ahead.ts), in the plain SQL of store/statements.ts.

/** What the caller decides about a new task; the rest of its row follows from the step. */
export interface NewTask {
  kind: TaskRow['kind'];
  status: TaskStatus;
  input: unknown;
  queue?: string;
  error?: StepError;
  /** Running from now on, with its first attempt (see insertTask). */
  dispatch?: boolean;
  /** A continued step keeps the id its worker gave it; its request is already confirmed. */
  id?: string;
  published?: boolean;
}

/** Every column of a task row, in the order of INSERT_TASK's values. */
const TASK_COLUMNS = [
  'id',
  'run_id',
  'step',
  'item_index',
  'parent_id',
  'kind',
  'status',
  'attempt',
  'max_attempts',
  'queue',
  'timeout_ms',
  'input',
  'output',
  'error',
  'created_at',
  'dispatched_at',
  'finished_at',
  'deadline_at',
  'retry_at',
  'published',
  'child_run_id',
  'progress',
  'progress_message',
  'fan_total',
  'fan_released',
  'fan_succeeded',
  'fan_failed',
  'priority',
  'queued_reason',
] as const satisfies readonly (keyof TaskRow)[];

const TASK_ROW_VALUES = `(${placeholders(TASK_COLUMNS.length)})`;

export const INSERT_TASK = insertTasks(1);

export const INSERT_ATTEMPT = `INSERT INTO attempts (task_id, attempt, run_id, status, dispatched_at)
  VALUES (?, ?, ?, 'running', ?)`;

/** INSERT_TASK for `n` rows. */
export function insertTasks(n: number): string {
  return `INSERT INTO tasks (${TASK_COLUMNS.join(', ')}) VALUES ${TASK_ROW_VALUES}${`, ${TASK_ROW_VALUES}`.repeat(n - 1)}`;
}

/** First attempts of `n` tasks, each row's values from firstAttemptParams. */
export function insertAttempts(n: number): string {
  const row = '(?, ?, ?, ?, ?, ?, ?)';
  return `INSERT INTO attempts (task_id, attempt, run_id, status, dispatched_at, finished_at, worker_id)
    VALUES ${row}${`, ${row}`.repeat(n - 1)}`;
}

export function newTaskRow(
  tx: TransitionState,
  run: LockedRun,
  step: StepDefinition,
  values: NewTask,
): TaskRow {
  return {
    id: values.id ?? uuidv7(),
    run_id: run.row.id,
    step: step.name,
    item_index: -1,
    parent_id: null,
    kind: values.kind,
    status: values.status,
    attempt: 1,
    max_attempts: step.retry.maxAttempts,
    queue: values.queue ?? null,
    timeout_ms: step.timeoutMs,
    input: JSON.stringify(values.input ?? null),
    output: null,
    error: values.error ? JSON.stringify(values.error) : null,
    created_at: tx.now,
    // Dispatched in the same transaction: written once, with the attempt's timing.
    dispatched_at: values.dispatch ? tx.now : null,
    finished_at: values.status === 'running' ? null : tx.now,
    deadline_at: values.dispatch ? tx.now + step.timeoutMs : null,
    retry_at: null,
    published: values.published ? 1 : 0,
    child_run_id: null,
    progress: null,
    progress_message: null,
    fan_total: null,
    fan_released: null,
    fan_succeeded: null,
    fan_failed: null,
    priority: run.row.priority,
    queued_reason: null,
  };
}

export function taskParams(row: TaskRow): unknown[] {
  return TASK_COLUMNS.map((c) => row[c]);
}

/**
 * insertAttempts' values for the first attempt of a task inserted running or already succeeded
 * (links-ahead.ts): its status, times and worker follow the row's.
 */
export function firstAttemptParams(row: TaskRow, workerId: string | null): unknown[] {
  return [
    row.id,
    row.attempt,
    row.run_id,
    row.status,
    row.dispatched_at,
    row.finished_at,
    workerId,
  ];
}

/** INSERT_ATTEMPT's values for a task inserted running. */
export function attemptParams(row: TaskRow): unknown[] {
  return [row.id, row.attempt, row.run_id, row.dispatched_at];
}
