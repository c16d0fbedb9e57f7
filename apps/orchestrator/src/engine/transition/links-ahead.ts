import type { StepResult } from '@conveyor/contracts';
import { chainedOnly, nextInChain } from '../chain';
import { limitsOf } from './admission';
import { runInput, type LockedRun, type TaskRow, type TransitionState } from './state';
import {
  firstAttemptParams,
  insertAttempts,
  insertTasks,
  newTaskRow,
  taskParams,
} from './task-rows';

/**
 * Chain links written ahead. A chain's results reach the orchestrator together more often than
 * not: a link's record may wait for company (results-intake.ts), and a run's last result takes
 * the waiting ones along. Recorded one by one, each link cost two statements — its task inserted
 * running when the link before it was applied, then moved to succeeded when its own result was —
 * a round trip each on PostgreSQL, one after another on the way to the run's completion.
 *
 * When a continued step's task is inserted and its result waits in the same transaction (see
 * TransitionState.waitingResults), it is inserted as that result leaves it: succeeded, with its
 * attempt; so is the next link if its result waits too, and so on; the first link whose result
 * is not here is inserted running. One statement for the whole stretch (two on SQLite, where
 * statements are calls, not round trips). The engine then goes on as before: applying each of
 * those results finds its task in `succeededAhead` instead of running the success statement,
 * and inserting each next link finds it in `insertedAhead` — the events, metrics and decisions
 * are the ones a link-by-link record makes. results-intake.ts checks that every row written
 * ahead was reached, and rolls the transaction back if one was not.
 */
export async function writeWithLinksAhead(
  tx: TransitionState,
  run: LockedRun,
  first: TaskRow,
): Promise<void> {
  const rows: TaskRow[] = [];
  /** Per row: its first attempt's values. */
  const attempts: unknown[] = [];
  for (let row: TaskRow | undefined = first; row;) {
    const result = tx.waitingResults?.get(row.id);
    if (!result || !isItsSuccess(result, row)) {
      rows.push(row);
      attempts.push(...firstAttemptParams(row, null));
      break;
    }
    // As the success statement (results.ts, SUCCEED_TASK) leaves a running task.
    const done: TaskRow = {
      ...row,
      status: 'succeeded',
      output: JSON.stringify(result.output ?? null),
      error: null,
      finished_at: tx.now,
      deadline_at: null,
      retry_at: null,
    };
    rows.push(done);
    attempts.push(...firstAttemptParams(done, result.workerId ?? null));
    row = nextLink(tx, run, result);
  }
  if (tx.deps.dialect === 'postgres')
    await tx.run(`WITH t AS (${insertTasks(rows.length)}) ${insertAttempts(rows.length)}`, [
      ...rows.flatMap(taskParams),
      ...attempts,
    ]);
  else {
    await tx.run(insertTasks(rows.length), rows.flatMap(taskParams));
    await tx.run(insertAttempts(rows.length), attempts);
  }
  let succeeded = 0;
  for (const row of rows) {
    if (row.id !== first.id) tx.insertedAhead.add(row.id);
    if (row.status !== 'succeeded') continue;
    tx.succeededAhead.set(row.id, row);
    succeeded++;
  }
  if (succeeded > 0) tx.deps.metrics.linksRecordedAhead.inc(succeeded);
}

/**
 * Whether `result` is the success of the task `row` is about to insert: the first attempt of that
 * very step of this run (a result of another attempt, or of a task this run does not hold, is
 * left to applyResult, which ignores it).
 */
function isItsSuccess(
  result: StepResult,
  row: TaskRow,
): result is Extract<StepResult, { status: 'succeeded' }> {
  return (
    result.status === 'succeeded' &&
    result.attempt === row.attempt &&
    result.runId === row.run_id &&
    result.step === row.step
  );
}

/**
 * The task applying `result` will insert next, running, when that is all it will do: a chain
 * link whose step's only dependent is the step its worker started (chainedOnly), on a queue
 * without limits. Undefined otherwise (the stretch ends; applying the result does the rest).
 */
function nextLink(tx: TransitionState, run: LockedRun, result: StepResult): TaskRow | undefined {
  if (result.status !== 'succeeded' || result.continuedAs === undefined) return undefined;
  const next = nextInChain(run.def, result.step);
  if (!next || !chainedOnly(run.def, result) || limitsOf(tx, next.step.action.queue))
    return undefined;
  // What startStep evaluates for it: a bare reference to the output, or the run input.
  const input = next.input === 'output' ? (result.output ?? null) : runInput(run);
  return newTaskRow(tx, run, next.step, {
    kind: 'queue',
    status: 'running',
    input,
    queue: next.step.action.queue,
    dispatch: true,
    id: result.continuedAs,
    published: true,
  });
}
