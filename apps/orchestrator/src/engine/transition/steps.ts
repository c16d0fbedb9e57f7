import type { StepError } from '@conveyor/contracts';
import type { ExpressionContext } from '../../definitions/expressions';
import { ON_FAILURE_STEP, type StepDefinition } from '../../definitions/model';
import { placeholders } from '../../store/statements';
import type { TaskStatus } from '../../store/tables';
import { nextInChain } from '../chain';
import { dispatch, startChildRun } from './dispatch';
import { limitsOf } from './admission';
import { writeWithLinksAhead } from './links-ahead';
import { startFanOut } from './fan-out';
import { finishTask } from './results';
import {
  attemptParams,
  INSERT_ATTEMPT,
  INSERT_TASK,
  newTaskRow,
  taskParams,
  type NewTask,
} from './task-rows';
import { completeRun, failRun } from './runs';
import {
  runInput,
  type KnownOutput,
  type LockedRun,
  type TaskRow,
  type TransitionState,
} from './state';

// A step of a run: started when its needs are met (skipped by `when`, fanned out by `forEach`,
// sent to a queue or run as a sub-workflow), and finished, which starts its dependents or
// completes the run.

/** The values a step's expressions see: the run input and the outputs of the steps they name. */
export async function expressionContext(
  tx: TransitionState,
  run: LockedRun,
  step: StepDefinition | undefined,
  known?: Record<string, unknown>,
): Promise<ExpressionContext> {
  const refs = new Set<string>();
  for (const e of [step?.input, step?.when, step?.forEach?.items])
    for (const r of e?.stepRefs ?? []) refs.add(r);
  if (!step) for (const s of run.def.steps) refs.add(s.name);
  // Outputs this transaction already holds in memory are not read back and parsed again.
  const steps: Record<string, unknown> = {};
  const missing: string[] = [];
  for (const r of refs) {
    if (known && r in known) steps[r] = known[r];
    else missing.push(r);
  }
  Object.assign(steps, await stepOutputs(tx, run.row.id, missing));
  return {
    input: runInput(run),
    steps,
    run: { id: run.row.id, workflow: run.def.name, version: run.def.version },
  };
}

/** Outputs of finished steps (skipped steps read as null). Only the named ones are loaded. */
async function stepOutputs(
  tx: TransitionState,
  runId: string,
  names: string[],
): Promise<Record<string, unknown>> {
  if (names.length === 0) return {};
  const rows = await tx.all<{ step: string; output: string | null }>(
    `SELECT step, output FROM tasks WHERE run_id = ? AND item_index = -1 AND step IN (${placeholders(names.length)})`,
    [runId, ...names],
  );
  const out: Record<string, unknown> = {};
  for (const row of rows)
    out[row.step] = row.output === null ? null : (JSON.parse(row.output) as unknown);
  return out;
}

export async function startStep(
  tx: TransitionState,
  run: LockedRun,
  step: StepDefinition,
  known?: Record<string, unknown>,
  /** Set when a worker already published this step's request, under this task id. */
  continuedAs?: string,
): Promise<void> {
  if (run.row.status !== 'running') return;
  const context = await expressionContext(tx, run, step, known);
  let phase = 'when';
  try {
    if (step.when && !truthy(await step.when.evaluate(context))) {
      await insertTask(tx, run, step, { kind: 'skip', status: 'skipped', input: null });
      tx.event(run, { event: 'step.skipped', step: step.name });
      await stepFinished(tx, run, step.name, 'skipped', undefined);
      return;
    }
    if (step.forEach) {
      phase = 'forEach';
      const value = await step.forEach.items.evaluate(context);
      // JSONata collapses one-element sequences to the element and "nothing" to undefined.
      const items = value === null ? [] : Array.isArray(value) ? (value as unknown[]) : [value];
      phase = 'input';
      const inputs: unknown[] = [];
      for (const [index, item] of items.entries()) {
        inputs.push(step.input ? await step.input.evaluate({ ...context, item, index }) : item);
      }
      await startFanOut(tx, run, step, inputs);
      return;
    }
    phase = 'input';
    const input = step.input ? await step.input.evaluate(context) : context.input;
    if (step.action.kind === 'queue') {
      const task = await insertTask(tx, run, step, {
        kind: 'queue',
        status: 'running',
        input,
        queue: step.action.queue,
        dispatch: true,
        ...(continuedAs !== undefined ? { id: continuedAs, published: true } : {}),
      });
      await dispatch(tx, run, [task], true, continuedAs !== undefined);
      if (continuedAs !== undefined)
        tx.deps.metrics.continuedSteps.inc({ queue: step.action.queue });
    } else {
      const task = await insertTask(tx, run, step, {
        kind: 'workflow',
        status: 'running',
        input,
      });
      await startChildRun(tx, run, step, task, input);
    }
  } catch (error) {
    const stepError: StepError = {
      message: `evaluating \`${phase}\` of step ${step.name} failed: ${(error as Error).message ?? String(error)}`,
      code: 'EXPRESSION_ERROR',
      retryable: false,
    };
    const existing = await tx.trx
      .selectFrom('tasks')
      .selectAll()
      .where('run_id', '=', run.row.id)
      .where('step', '=', step.name)
      .where('item_index', '=', -1)
      .executeTakeFirst();
    if (existing) await finishTask(tx, existing, 'failed', undefined, stepError);
    else
      await insertTask(tx, run, step, {
        kind: 'skip',
        status: 'failed',
        input: null,
        error: stepError,
      });
    tx.stepEvent(run, {
      event: 'step.failed',
      step: step.name,
      taskId: existing?.id ?? '-',
      attempt: 1,
      error: stepError,
    });
    await stepFinished(tx, run, step.name, 'failed', stepError);
  }
}

/**
 * Inserts a task; with `dispatch`, running (the caller then calls dispatch() with
 * `alreadyWritten`), and with its first attempt when nothing can hold it back. A chain link whose
 * results wait in this transaction is written with them, in one statement (links-ahead.ts).
 */
export async function insertTask(
  tx: TransitionState,
  run: LockedRun,
  step: StepDefinition,
  values: NewTask,
): Promise<TaskRow> {
  const row = newTaskRow(tx, run, step, values);
  tx.inputs.set(row, values.input ?? null);
  // Written already, with the link before it (links-ahead.ts).
  if (values.id !== undefined && tx.insertedAhead.delete(values.id)) {
    tx.attemptWritten.add(row);
    return row;
  }
  // Dispatched at once to a queue without limits (which could hold it back as `queued`): its
  // first attempt is written with it, in one statement on PostgreSQL (one round trip), and
  // dispatch() skips it.
  if (!values.dispatch || limitsOf(tx, row.queue)) {
    await tx.run(INSERT_TASK, taskParams(row));
    return row;
  }
  if (values.id !== undefined) await writeWithLinksAhead(tx, run, row);
  else if (tx.deps.dialect === 'postgres')
    await tx.run(`WITH t AS (${INSERT_TASK}) ${INSERT_ATTEMPT}`, [
      ...taskParams(row),
      ...attemptParams(row),
    ]);
  else {
    await tx.run(INSERT_TASK, taskParams(row));
    await tx.run(INSERT_ATTEMPT, attemptParams(row));
  }
  tx.attemptWritten.add(row);
  return row;
}

/** A step (not an item) reached a final state: start dependents whose needs are all met. */
export async function stepFinished(
  tx: TransitionState,
  run: LockedRun,
  stepName: string,
  status: 'succeeded' | 'failed' | 'skipped',
  error: StepError | undefined,
  known?: KnownOutput,
): Promise<void> {
  if (run.row.status !== 'running') return;
  if (stepName === ON_FAILURE_STEP) {
    const cause = run.row.error ? (JSON.parse(run.row.error) as StepError) : error;
    await completeRun(tx, run, run.row.final_status ?? 'failed', undefined, cause);
    return;
  }
  if (status === 'failed') {
    const e = error ?? { message: 'unknown error', retryable: false };
    await failRun(tx, run, 'failed', {
      message: `step ${stepName} failed: ${e.message}`,
      ...(e.code ? { code: e.code } : {}),
      retryable: false,
      details: { step: stepName, ...(e.details !== undefined ? { cause: e.details } : {}) },
    });
    return;
  }
  // The statuses of the run's steps are read only when a decision needs them: a dependent
  // whose only need is this step is ready now and cannot exist yet (its need finished in this
  // transaction, under the run lock; the unique index guards it too), e.g. every link of a chain.
  let statusOf: Map<string, TaskStatus> | undefined;
  const outputs: Record<string, unknown> | undefined =
    known && status === 'succeeded' ? { [stepName]: known.output } : undefined;
  let started = false;
  for (const name of run.def.dependents.get(stepName) ?? []) {
    if (run.row.status !== 'running') break;
    const dependent = run.def.stepsByName.get(name);
    if (!dependent) continue;
    if (dependent.needs.length > 1 || statusOf) {
      statusOf ??= await stepStatuses(tx, run);
      const current = statusOf;
      if (current.has(name)) continue;
      const ready = dependent.needs.every((n) => isDone(current.get(n)));
      if (!ready) continue;
    }
    statusOf?.set(name, 'running');
    started = true;
    const continuedAs =
      known?.continuedAs !== undefined && nextInChain(run.def, stepName)?.step === dependent
        ? known.continuedAs
        : undefined;
    await startStep(tx, run, dependent, outputs, continuedAs);
  }
  // A dependent started above is running (a skipped one that was the last completed the run
  // itself): the run cannot be done yet.
  if (run.row.status !== 'running' || started) return;
  // Read with the statuses when not read yet: the outputs come along if every step is done.
  const final = statusOf ? undefined : await finalStates(tx, run);
  const current = statusOf ?? final?.statuses ?? new Map<string, TaskStatus>();
  const done = run.def.steps.every((s) => isDone(current.get(s.name)));
  if (!done) return;
  const context = await expressionContext(tx, run, undefined, final?.outputs);
  let output: unknown = context.steps;
  if (run.def.output) {
    try {
      output = await run.def.output.evaluate(context);
    } catch (e) {
      await failRun(tx, run, 'failed', {
        message: `evaluating the workflow \`output\` failed: ${(e as Error).message}`,
        code: 'EXPRESSION_ERROR',
        retryable: false,
      });
      return;
    }
  }
  await completeRun(tx, run, 'succeeded', output, undefined);
}

/**
 * The statuses of the run's steps (not items). A function here, not a closure in stepFinished:
 * the build keeps names (esbuild keepNames), so a named closure costs a defineProperty on every
 * call of the function that makes it.
 */
async function stepStatuses(tx: TransitionState, run: LockedRun): Promise<Map<string, TaskStatus>> {
  const rows = await tx.all<{ step: string; status: TaskStatus }>(
    'SELECT step, status FROM tasks WHERE run_id = ? AND item_index = -1',
    [run.row.id],
  );
  return new Map(rows.map((r) => [r.step, r.status]));
}

/**
 * The statuses of the run's steps and, when all of them are done (succeeded or skipped), their
 * outputs: one statement where a run's completion took two (each a round trip on PostgreSQL).
 * Outputs are read only then — a step that ends while others still run reads none of them.
 */
async function finalStates(
  tx: TransitionState,
  run: LockedRun,
): Promise<{ statuses: Map<string, TaskStatus>; outputs: Record<string, unknown> | undefined }> {
  const rows = await tx.all<{ step: string; status: TaskStatus; output: string | null }>(
    `SELECT step, status, CASE WHEN (SELECT count(*) FROM tasks d WHERE d.run_id = ?
        AND d.item_index = -1 AND d.status IN ('succeeded', 'skipped')) = ? THEN output END AS output
      FROM tasks WHERE run_id = ? AND item_index = -1`,
    [run.row.id, run.def.steps.length, run.row.id],
  );
  const statuses = new Map<string, TaskStatus>();
  let outputs: Record<string, unknown> | undefined;
  const allDone = rows.length === run.def.steps.length && rows.every((r) => isDone(r.status));
  for (const row of rows) {
    statuses.set(row.step, row.status);
    // Skipped steps read as null.
    if (allDone)
      (outputs ??= {})[row.step] = row.output === null ? null : (JSON.parse(row.output) as unknown);
  }
  return { statuses, outputs };
}

/** A step its dependents and the run's completion count as done: succeeded, or skipped. */
function isDone(status: TaskStatus | undefined): boolean {
  return status === 'succeeded' || status === 'skipped';
}

export function queueOf(step: StepDefinition): string {
  return step.action.kind === 'queue' ? step.action.queue : '';
}

/** `when` follows JSONata's boolean casting: empty strings, 0, null, empty arrays are false. */
function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(truthy);
  if (value && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}
