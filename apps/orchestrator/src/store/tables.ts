import type { Generated } from 'kysely';

/**
 * Durable state. Times are epoch milliseconds (bigint in PostgreSQL, parsed to number); JSON
 * values are stored as text so that both dialects share one code path.
 */
export interface Database {
  workflow_definitions: DefinitionsTable;
  runs: RunsTable;
  tasks: TasksTable;
  attempts: AttemptsTable;
  dead_letters: DeadLettersTable;
  queue_buckets: QueueBucketsTable;
}

export interface DefinitionsTable {
  name: string;
  version: number;
  hash: string;
  source: string;
  file: string;
  registered_at: number;
}

export type RunStatusValue = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timed_out';

export interface RunsTable {
  id: string;
  workflow: string;
  version: number;
  status: RunStatusValue;
  input: string;
  output: string | null;
  /** JSON StepError. */
  error: string | null;
  idempotency_key: string | null;
  parent_run_id: string | null;
  parent_task_id: string | null;
  created_at: number;
  finished_at: number | null;
  deadline_at: number | null;
  callback_url: string | null;
  /** While the on-failure step runs: the status the run ends with. */
  final_status: RunStatusValue | null;
  /** Outbox flag for the completion event and callback (0 until delivered or given up). */
  completion_published: number;
  completion_attempts: number;
  /** Dispatch order among steps waiting for a limited queue: higher first (default 0). */
  priority: number;
}

/**
 * Task = one step of a run (item_index -1) or one item of a fan-out (item_index ≥ 0, parent_id =
 * the step's task). A fan-out's step row keeps counters so that an item's completion is O(1).
 */
/** `queued`: due to be dispatched, held back by its queue's limits (queued_reason says which). */
export type TaskStatus =
  | 'pending'
  | 'queued'
  | 'running'
  | 'waiting_retry'
  | 'succeeded'
  | 'failed'
  | 'skipped'
  | 'cancelled';
export type TaskKind = 'queue' | 'workflow' | 'fanout' | 'skip';

export interface TasksTable {
  id: string;
  run_id: string;
  step: string;
  item_index: number;
  parent_id: string | null;
  kind: TaskKind;
  status: TaskStatus;
  attempt: number;
  max_attempts: number;
  queue: string | null;
  timeout_ms: number;
  input: string | null;
  output: string | null;
  error: string | null;
  created_at: number;
  dispatched_at: number | null;
  finished_at: number | null;
  deadline_at: number | null;
  retry_at: number | null;
  /** Outbox flag: 0 until the broker confirmed the current attempt's request. */
  published: number;
  child_run_id: string | null;
  progress: number | null;
  progress_message: string | null;
  fan_total: number | null;
  fan_released: number | null;
  fan_succeeded: number | null;
  fan_failed: number | null;
  /** The run's priority, copied so that waiting steps are ordered by an index. */
  priority: number;
  /** Why a `queued` task waits (its queue's in-flight cap, rate or higher-priority steps). */
  queued_reason: string | null;
}

export interface AttemptsTable {
  task_id: string;
  attempt: number;
  run_id: string;
  status: 'running' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled';
  dispatched_at: number;
  finished_at: number | null;
  error: string | null;
  worker_id: string | null;
}

export interface DeadLettersTable {
  id: Generated<number>;
  queue: string;
  reason: string;
  body: string;
  attempts: number;
  received_at: number;
}

/** One row per limited queue: locked to admit a step, and the token bucket of its rate limit. */
export interface QueueBucketsTable {
  queue: string;
  tokens: number;
  refilled_at: number;
}
