import { randomUUID } from 'node:crypto';
import type { RunEvent, StepError, StepRequest, StepResult } from '@conveyor/contracts';
import { stepIdempotencyKey } from '@conveyor/contracts';
import type { Selectable, Transaction } from 'kysely';
import type { DefinitionRegistry } from '../definitions/registry';
import { formatDuration } from '../definitions/duration';
import type { ExpressionContext } from '../definitions/expressions';
import {
  ON_FAILURE_STEP,
  type StepDefinition,
  type WorkflowDefinition,
} from '../definitions/model';
import type { Dialect } from '../store/database';
import type { Database, RunsTable, RunStatusValue, TasksTable, TaskStatus } from '../store/tables';
import { backoffDelay } from './backoff';
import { chainAfter, nextInChain } from './chain';
import type { Effect } from './effects';
import type { EngineMetrics } from './metrics';

export interface TransitionDeps {
  readonly dialect: Dialect;
  readonly registry: DefinitionRegistry;
  readonly metrics: EngineMetrics;
  readonly replyTo: string;
  readonly progressTo: string;
  /** Most chain links a step request carries (0: none, the orchestrator dispatches every step). */
  readonly chainLinks: number;
}

export type RunRow = Selectable<RunsTable>;
export type TaskRow = Selectable<TasksTable>;

/** A run locked by the current transaction, with the definition version it started on. */
export interface LockedRun {
  row: RunRow;
  readonly def: WorkflowDefinition;
  /** `row.input` parsed, once per transaction (see runInput). */
  parsedInput?: { readonly value: unknown };
}

/** The output of a step that just finished in this transaction, as the worker sent it. */
export interface KnownOutput {
  readonly output: unknown;
  /** The task id under which the worker already started the next step of the chain. */
  readonly continuedAs?: string | undefined;
}

function runInput(run: LockedRun): unknown {
  run.parsedInput ??= { value: JSON.parse(run.row.input) as unknown };
  return run.parsedInput.value;
}

export type Ignored = { readonly applied: false; readonly reason: string };
export type Applied = { readonly applied: true };

const ACTIVE: TaskStatus[] = ['pending', 'running', 'waiting_retry'];
const ITEM_INSERT_CHUNK = 400;

/**
 * One state transition = one database transaction. Every change is conditional on the state it
 * expects (task running, same attempt, run running) while the run row is locked, which is what
 * makes duplicate or late messages harmless and lets several replicas share one database.
 */
export class Transition {
  readonly now = Date.now();
  /** Inputs of tasks inserted by this transaction, so their requests need not parse them back. */
  private readonly inputs = new WeakMap<TaskRow, unknown>();

  constructor(
    readonly trx: Transaction<Database>,
    /** Filled during the transaction, performed by the caller after commit. */
    private readonly effects: Effect[],
    private readonly deps: TransitionDeps,
  ) {}

  // -------------------------------------------------------------------------------------------
  // Runs

  async lockRun(runId: string): Promise<LockedRun | undefined> {
    let query = this.trx.selectFrom('runs').selectAll().where('id', '=', runId);
    // SQLite transactions are already serialised (one writer); PostgreSQL needs the row lock.
    if (this.deps.dialect === 'postgres') query = query.forUpdate();
    const row = await query.executeTakeFirst();
    if (!row) return undefined;
    const def = await this.deps.registry.get(row.workflow, row.version, this.trx);
    if (!def) {
      throw new Error(
        `run ${runId} uses workflow ${row.workflow} version ${row.version}, which is not registered in this database`,
      );
    }
    return { row, def };
  }

  /** Inserts a run and starts its root steps; with an existing idempotency key, returns that run. */
  async createRun(params: {
    def: WorkflowDefinition;
    input: unknown;
    idempotencyKey?: string | undefined;
    callbackUrl?: string | undefined;
    parentRunId?: string;
    parentTaskId?: string;
  }): Promise<{ run: RunRow; created: boolean }> {
    const { def } = params;
    const row: RunRow = {
      id: randomUUID(),
      workflow: def.name,
      version: def.version,
      status: 'running',
      input: JSON.stringify(params.input ?? null),
      output: null,
      error: null,
      idempotency_key: params.idempotencyKey ?? null,
      parent_run_id: params.parentRunId ?? null,
      parent_task_id: params.parentTaskId ?? null,
      created_at: this.now,
      finished_at: null,
      deadline_at: def.timeoutMs !== undefined ? this.now + def.timeoutMs : null,
      callback_url: params.callbackUrl ?? null,
      final_status: null,
      completion_published: 0,
      completion_attempts: 0,
    };
    const inserted = await this.trx
      .insertInto('runs')
      .values(row)
      .onConflict((oc) => oc.columns(['workflow', 'idempotency_key']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) {
      const existing = await this.trx
        .selectFrom('runs')
        .selectAll()
        .where('workflow', '=', def.name)
        .where('idempotency_key', '=', params.idempotencyKey ?? '')
        .executeTakeFirstOrThrow();
      return { run: existing, created: false };
    }
    this.deps.metrics.runsStarted.inc({ workflow: def.name });
    const run: LockedRun = { row, def };
    this.event(run, {
      event: 'run.started',
      ...(row.parent_run_id ? { parentRunId: row.parent_run_id } : {}),
    });
    for (const step of def.steps) {
      if (step.needs.length === 0) await this.startStep(run, step);
      if (run.row.status !== 'running') break;
    }
    return { run: run.row, created: true };
  }

  private async completeRun(
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
      finished_at: this.now,
      final_status: null,
      completion_published: 0,
    };
    await this.trx
      .updateTable('runs')
      .set(patch)
      .where('id', '=', run.row.id)
      .where('status', '=', 'running')
      .execute();
    run.row = { ...run.row, ...patch };
    this.deps.metrics.runsCompleted.inc({ workflow: run.def.name, status });
    this.effects.push({ kind: 'run-completed', runId: run.row.id });
    if (run.row.parent_run_id && run.row.parent_task_id) {
      await this.childRunFinished(
        run.row.parent_run_id,
        run.row.parent_task_id,
        run.row,
        output,
        error,
      );
    }
  }

  private async childRunFinished(
    parentRunId: string,
    taskId: string,
    child: RunRow,
    output: unknown,
    error: StepError | undefined,
  ) {
    const parent = await this.lockRun(parentRunId);
    if (!parent || parent.row.status !== 'running') return;
    const task = await this.trx
      .selectFrom('tasks')
      .selectAll()
      .where('id', '=', taskId)
      .executeTakeFirst();
    if (!task || task.status !== 'running' || task.child_run_id !== child.id) return;
    if (child.status === 'succeeded') {
      await this.finishTask(task, 'succeeded', output ?? null, undefined);
      await this.afterTaskFinished(parent, task, 'succeeded', undefined, {
        output: output ?? null,
      });
    } else {
      const stepError: StepError = {
        message: `sub-workflow ${child.workflow} (run ${child.id}) ${child.status.replace('_', ' ')}: ${error?.message ?? 'no error recorded'}`,
        code: error?.code ?? 'SUB_WORKFLOW_FAILED',
        retryable: false,
      };
      await this.finishTask(task, 'failed', undefined, stepError);
      await this.afterTaskFinished(parent, task, 'failed', stepError);
    }
  }

  /** Ends a run unsuccessfully; runs the on-failure step first when the workflow has one. */
  async failRun(
    run: LockedRun,
    status: 'failed' | 'timed_out' | 'cancelled',
    error: StepError,
  ): Promise<void> {
    if (run.row.status !== 'running') return;
    await this.cancelActiveTasks(run.row.id);
    const onFailure = run.def.onFailure;
    if (status !== 'cancelled' && onFailure && run.row.final_status === null) {
      const patch = { final_status: status, error: JSON.stringify(error) };
      await this.trx.updateTable('runs').set(patch).where('id', '=', run.row.id).execute();
      run.row = { ...run.row, ...patch };
      const context = await this.context(run, onFailure);
      context.error = error;
      let input: unknown = { error, runId: run.row.id, workflow: run.def.name };
      if (onFailure.input) {
        try {
          input = await onFailure.input.evaluate(context);
        } catch (e) {
          input = { error, runId: run.row.id, inputError: (e as Error).message };
        }
      }
      const task = await this.insertTask(run, onFailure, {
        kind: 'queue',
        status: 'running',
        input,
        queue: queueOf(onFailure),
        dispatch: true,
      });
      await this.dispatch(run, [task], true);
      return;
    }
    await this.completeRun(run, status, undefined, error);
  }

  async cancelRun(run: LockedRun, reason: string): Promise<void> {
    await this.failRun(run, 'cancelled', { message: reason, code: 'CANCELLED', retryable: false });
  }

  private async cancelActiveTasks(runId: string): Promise<void> {
    await this.cancelTasks('run_id', runId, 'cancelled because its parent run ended');
  }

  /**
   * Cancels the active tasks of a run (`run_id`) or of a fan-out (`parent_id`), their running
   * attempts, and the sub-workflow runs they started.
   */
  private async cancelTasks(
    scope: 'run_id' | 'parent_id',
    id: string,
    childReason: string,
  ): Promise<void> {
    const active = this.trx.selectFrom('tasks').where(scope, '=', id).where('status', 'in', ACTIVE);
    const children = await active
      .select('child_run_id')
      .where('child_run_id', 'is not', null)
      .execute();
    await this.trx
      .updateTable('attempts')
      .set({ status: 'cancelled', finished_at: this.now })
      .where('status', '=', 'running')
      .where('task_id', 'in', active.select('id'))
      .execute();
    await this.trx
      .updateTable('tasks')
      .set({ status: 'cancelled', finished_at: this.now, deadline_at: null, retry_at: null })
      .where(scope, '=', id)
      .where('status', 'in', ACTIVE)
      .execute();
    for (const { child_run_id } of children) {
      const child = child_run_id ? await this.lockRun(child_run_id) : undefined;
      if (child) await this.cancelRun(child, childReason);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Steps

  private async context(
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
    Object.assign(steps, await this.stepOutputs(run.row.id, missing));
    return {
      input: runInput(run),
      steps,
      run: { id: run.row.id, workflow: run.def.name, version: run.def.version },
    };
  }

  /** Outputs of finished steps (skipped steps read as null). Only the named ones are loaded. */
  private async stepOutputs(runId: string, names: string[]): Promise<Record<string, unknown>> {
    if (names.length === 0) return {};
    const rows = await this.trx
      .selectFrom('tasks')
      .select(['step', 'output'])
      .where('run_id', '=', runId)
      .where('item_index', '=', -1)
      .where('step', 'in', names)
      .execute();
    const out: Record<string, unknown> = {};
    for (const row of rows)
      out[row.step] = row.output === null ? null : (JSON.parse(row.output) as unknown);
    return out;
  }

  private async startStep(
    run: LockedRun,
    step: StepDefinition,
    known?: Record<string, unknown>,
    /** Set when a worker already published this step's request, under this task id. */
    continuedAs?: string,
  ): Promise<void> {
    if (run.row.status !== 'running') return;
    const context = await this.context(run, step, known);
    let phase = 'when';
    try {
      if (step.when && !truthy(await step.when.evaluate(context))) {
        await this.insertTask(run, step, { kind: 'skip', status: 'skipped', input: null });
        this.event(run, { event: 'step.skipped', step: step.name });
        await this.stepFinished(run, step.name, 'skipped', undefined);
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
        await this.startFanOut(run, step, inputs);
        return;
      }
      phase = 'input';
      const input = step.input ? await step.input.evaluate(context) : context.input;
      if (step.action.kind === 'queue') {
        const task = await this.insertTask(run, step, {
          kind: 'queue',
          status: 'running',
          input,
          queue: step.action.queue,
          dispatch: true,
          ...(continuedAs !== undefined ? { id: continuedAs, published: true } : {}),
        });
        await this.dispatch(run, [task], true, continuedAs !== undefined);
        if (continuedAs !== undefined)
          this.deps.metrics.continuedSteps.inc({ queue: step.action.queue });
      } else {
        const task = await this.insertTask(run, step, {
          kind: 'workflow',
          status: 'running',
          input,
        });
        await this.startChildRun(run, step, task, input);
      }
    } catch (error) {
      const stepError: StepError = {
        message: `evaluating \`${phase}\` of step ${step.name} failed: ${(error as Error).message ?? String(error)}`,
        code: 'EXPRESSION_ERROR',
        retryable: false,
      };
      const existing = await this.trx
        .selectFrom('tasks')
        .selectAll()
        .where('run_id', '=', run.row.id)
        .where('step', '=', step.name)
        .where('item_index', '=', -1)
        .executeTakeFirst();
      if (existing) await this.finishTask(existing, 'failed', undefined, stepError);
      else
        await this.insertTask(run, step, {
          kind: 'skip',
          status: 'failed',
          input: null,
          error: stepError,
        });
      this.stepEvent(run, {
        event: 'step.failed',
        step: step.name,
        taskId: existing?.id ?? '-',
        attempt: 1,
        error: stepError,
      });
      await this.stepFinished(run, step.name, 'failed', stepError);
    }
  }

  private async insertTask(
    run: LockedRun,
    step: StepDefinition,
    values: {
      kind: TaskRow['kind'];
      status: TaskStatus;
      input: unknown;
      queue?: string;
      error?: StepError;
      dispatch?: boolean;
      /** A continued step keeps the id its worker gave it; its request is already confirmed. */
      id?: string;
      published?: boolean;
    },
  ): Promise<TaskRow> {
    const row: TaskRow = {
      id: values.id ?? randomUUID(),
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
      created_at: this.now,
      // Dispatched in the same transaction: written once, with the attempt's timing.
      dispatched_at: values.dispatch ? this.now : null,
      finished_at: values.status === 'running' ? null : this.now,
      deadline_at: values.dispatch ? this.now + step.timeoutMs : null,
      retry_at: null,
      published: values.published ? 1 : 0,
      child_run_id: null,
      progress: null,
      progress_message: null,
      fan_total: null,
      fan_released: null,
      fan_succeeded: null,
      fan_failed: null,
    };
    await this.trx.insertInto('tasks').values(row).execute();
    this.inputs.set(row, values.input ?? null);
    return row;
  }

  private async startFanOut(
    run: LockedRun,
    step: StepDefinition,
    inputs: unknown[],
  ): Promise<void> {
    const parent = await this.insertTask(run, step, {
      kind: 'fanout',
      status: 'running',
      input: null,
    });
    await this.trx
      .updateTable('tasks')
      .set({ fan_total: inputs.length, fan_released: 0, fan_succeeded: 0, fan_failed: 0 })
      .where('id', '=', parent.id)
      .execute();
    const kind = step.action.kind;
    for (let start = 0; start < inputs.length; start += ITEM_INSERT_CHUNK) {
      const rows = inputs.slice(start, start + ITEM_INSERT_CHUNK).map((input, offset) => ({
        id: randomUUID(),
        run_id: run.row.id,
        step: step.name,
        item_index: start + offset,
        parent_id: parent.id,
        kind,
        status: 'pending' as const,
        attempt: 1,
        max_attempts: step.retry.maxAttempts,
        queue: step.action.kind === 'queue' ? step.action.queue : null,
        timeout_ms: step.timeoutMs,
        input: JSON.stringify(input ?? null),
        created_at: this.now,
        published: 0,
      }));
      await this.trx.insertInto('tasks').values(rows).execute();
    }
    if (inputs.length === 0) {
      await this.joinFanOut(run, step, parent.id);
      return;
    }
    await this.release(
      run,
      step,
      parent.id,
      Math.min(step.forEach?.concurrency ?? inputs.length, inputs.length),
    );
  }

  /** Sends up to `count` more pending items of a fan-out, in item order. */
  private async release(
    run: LockedRun,
    step: StepDefinition,
    parentId: string,
    count: number,
  ): Promise<void> {
    if (count <= 0) return;
    const items = await this.trx
      .selectFrom('tasks')
      .selectAll()
      .where('parent_id', '=', parentId)
      .where('status', '=', 'pending')
      .orderBy('item_index')
      .limit(count)
      .execute();
    if (items.length === 0) return;
    await this.trx
      .updateTable('tasks')
      .set((eb) => ({ fan_released: eb('fan_released', '+', items.length) }))
      .where('id', '=', parentId)
      .execute();
    if (step.action.kind === 'queue') {
      await this.dispatch(run, items);
    } else {
      for (const item of items) {
        await this.trx
          .updateTable('tasks')
          .set({ status: 'running', dispatched_at: this.now })
          .where('id', '=', item.id)
          .execute();
        await this.startChildRun(run, step, item, JSON.parse(item.input ?? 'null') as unknown);
      }
    }
  }

  private async startChildRun(
    run: LockedRun,
    step: StepDefinition,
    task: TaskRow,
    input: unknown,
  ): Promise<void> {
    if (step.action.kind !== 'workflow') return;
    // A sub-workflow runs the latest version registered when it starts.
    const def = this.deps.registry.latestVersion(step.action.workflow);
    if (!def) throw new Error(`sub-workflow ${step.action.workflow} is not registered`);
    const child = await this.createRunWithParent(def, input, run.row.id, task.id);
    await this.trx
      .updateTable('tasks')
      .set({ child_run_id: child.id, dispatched_at: this.now })
      .where('id', '=', task.id)
      .execute();
    // The child may have finished synchronously (every step skipped): propagate now.
    if (child.status !== 'running') {
      const fresh = await this.trx
        .selectFrom('tasks')
        .selectAll()
        .where('id', '=', task.id)
        .executeTakeFirstOrThrow();
      const error = child.error ? (JSON.parse(child.error) as StepError) : undefined;
      await this.childRunFinished(
        run.row.id,
        fresh.id,
        child,
        child.output ? (JSON.parse(child.output) as unknown) : null,
        error,
      );
    }
  }

  private async createRunWithParent(
    def: WorkflowDefinition,
    input: unknown,
    parentRunId: string,
    parentTaskId: string,
  ): Promise<RunRow> {
    const { run } = await this.createRun({ def, input, parentRunId, parentTaskId });
    return run;
  }

  /**
   * Marks tasks running for their current attempt and queues their requests (after commit);
   * `continued`: a worker already sent the (one) task's request, only the record is written.
   */
  private async dispatch(
    run: LockedRun,
    tasks: TaskRow[],
    alreadyWritten = false,
    continued = false,
  ): Promise<void> {
    const byAttempt = new Map<number, TaskRow[]>();
    for (const t of tasks) byAttempt.set(t.attempt, [...(byAttempt.get(t.attempt) ?? []), t]);
    const timeout = tasks[0]?.timeout_ms ?? 0;
    const uniformTimeout = tasks.every((t) => t.timeout_ms === timeout);
    for (const [attempt, group] of alreadyWritten ? [] : byAttempt) {
      const ids = group.map((t) => t.id);
      if (uniformTimeout) {
        await this.trx
          .updateTable('tasks')
          .set({
            status: 'running',
            attempt,
            dispatched_at: this.now,
            deadline_at: this.now + timeout,
            retry_at: null,
            published: 0,
          })
          .where('id', 'in', ids)
          .execute();
      } else {
        for (const t of group) {
          await this.trx
            .updateTable('tasks')
            .set({
              status: 'running',
              attempt,
              dispatched_at: this.now,
              deadline_at: this.now + t.timeout_ms,
              retry_at: null,
              published: 0,
            })
            .where('id', '=', t.id)
            .execute();
        }
      }
    }
    await this.trx
      .insertInto('attempts')
      .values(
        tasks.map((t) => ({
          task_id: t.id,
          attempt: t.attempt,
          run_id: run.row.id,
          status: 'running' as const,
          dispatched_at: this.now,
        })),
      )
      .execute();
    for (const t of tasks) {
      if (!continued) {
        const chain =
          t.item_index === -1 && this.deps.chainLinks > 0
            ? chainAfter(run.def, t.step, this.deps.chainLinks, () => ({
                json: run.row.input,
                value: runInput(run),
              }))
            : undefined;
        const request = buildRequest(
          run.def,
          { ...t, deadline_at: this.now + t.timeout_ms },
          this.deps,
          this.inputs.has(t) ? { value: this.inputs.get(t) } : undefined,
          chain,
        );
        this.effects.push({ kind: 'dispatch', request });
      }
      this.stepEvent(run, {
        event: 'step.dispatched',
        step: t.step,
        taskId: t.id,
        attempt: t.attempt,
        itemIndex: t.item_index,
        queue: t.queue ?? '',
      });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Results, failures, retries, timeouts

  async applyResult(run: LockedRun, result: StepResult): Promise<Applied | Ignored> {
    if (run.row.status !== 'running') return { applied: false, reason: 'run-finished' };
    if (result.status === 'succeeded') {
      // The common case in one statement: the task moves from running (this attempt) to
      // succeeded, or nothing changes and the result is a duplicate, late or unknown.
      const output = result.output ?? null;
      const task = await this.trx
        .updateTable('tasks')
        .set({
          status: 'succeeded',
          output: JSON.stringify(output),
          error: null,
          finished_at: this.now,
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
      if (!task) return this.ignored(run, result);
      this.observeDuration(task, 'succeeded');
      await this.finishAttempt(task, 'succeeded', undefined, result.workerId);
      this.stepEvent(run, {
        event: 'step.succeeded',
        step: task.step,
        taskId: task.id,
        attempt: task.attempt,
        itemIndex: task.item_index,
      });
      await this.afterTaskFinished(run, task, 'succeeded', undefined, {
        output,
        continuedAs: result.continuedAs,
      });
      return { applied: true };
    }
    const task = await this.trx
      .selectFrom('tasks')
      .selectAll()
      .where('id', '=', result.taskId)
      .executeTakeFirst();
    if (!task) return this.early(run, result);
    const ignored = whyIgnored(task, result);
    if (ignored) return ignored;
    this.observeDuration(task, 'failed');
    await this.failAttempt(run, task, result.error, 'failed', result.workerId);
    return { applied: true };
  }

  /** Why a success changed nothing (read only then: duplicates and late results are rare). */
  private async ignored(run: LockedRun, result: StepResult): Promise<Ignored> {
    const task = await this.trx
      .selectFrom('tasks')
      .selectAll()
      .where('id', '=', result.taskId)
      .executeTakeFirst();
    if (!task) return this.early(run, result);
    return whyIgnored(task, result) ?? { applied: false, reason: 'duplicate' };
  }

  /**
   * A result for a task this database does not hold: `early` when its step has no task yet in
   * this running run — a step a worker started from a chain, whose result overtook the result
   * that records it (the engine retries it) — else unknown (e.g. a chain started by an attempt
   * whose result was not the one accepted: the step already has another task).
   */
  private async early(run: LockedRun, result: StepResult): Promise<Ignored> {
    if (result.runId !== run.row.id || !run.def.stepsByName.has(result.step))
      return { applied: false, reason: 'unknown-task' };
    const sibling = await this.trx
      .selectFrom('tasks')
      .select('id')
      .where('run_id', '=', run.row.id)
      .where('step', '=', result.step)
      .where('item_index', '=', -1)
      .executeTakeFirst();
    return { applied: false, reason: sibling ? 'unknown-task' : 'early' };
  }

  private observeDuration(task: TaskRow, outcome: StepResult['status']): void {
    if (task.dispatched_at === null) return;
    this.deps.metrics.stepDuration.observe(
      { queue: task.queue ?? '', outcome },
      (this.now - task.dispatched_at) / 1000,
    );
  }

  async timeoutAttempt(run: LockedRun, task: TaskRow): Promise<void> {
    const item = task.item_index >= 0 ? ` item ${task.item_index}` : '';
    const error: StepError = {
      message: `step ${task.step}${item} on queue ${task.queue} sent no result within ${formatDuration(task.timeout_ms)} (attempt ${task.attempt} of ${task.max_attempts}): check that a worker consumes "${task.queue}", raise the step \`timeout\`, or send heartbeats from long steps`,
      code: 'STEP_TIMEOUT',
      retryable: true,
    };
    await this.failAttempt(run, task, error, 'timed_out', undefined);
  }

  private async failAttempt(
    run: LockedRun,
    task: TaskRow,
    error: StepError,
    attemptStatus: 'failed' | 'timed_out',
    workerId: string | undefined,
  ) {
    await this.finishAttempt(task, attemptStatus, error, workerId);
    if (error.retryable && task.attempt < task.max_attempts) {
      const step = run.def.stepsByName.get(task.step) ?? run.def.onFailure;
      const retryAt = this.now + (step ? backoffDelay(step.retry, task.attempt) : 1000);
      await this.trx
        .updateTable('tasks')
        .set({
          status: 'waiting_retry',
          retry_at: retryAt,
          deadline_at: null,
          error: JSON.stringify(error),
        })
        .where('id', '=', task.id)
        .execute();
      this.deps.metrics.retries.inc({
        queue: task.queue ?? '',
        reason: attemptStatus === 'timed_out' ? 'timeout' : 'error',
      });
      this.effects.push({ kind: 'wake', at: retryAt });
      this.stepEvent(run, {
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
    await this.finishTask(task, 'failed', undefined, final);
    this.stepEvent(run, {
      event: 'step.failed',
      step: task.step,
      taskId: task.id,
      attempt: task.attempt,
      itemIndex: task.item_index,
      error: final,
    });
    await this.afterTaskFinished(run, task, 'failed', final);
  }

  /** Sends the next attempt of a task whose retry is due. */
  async retryTask(run: LockedRun, task: TaskRow): Promise<void> {
    if (run.row.status !== 'running' || task.status !== 'waiting_retry') return;
    await this.dispatch(run, [{ ...task, attempt: task.attempt + 1 }]);
  }

  /** A heartbeat: pushes the deadline of the current attempt (no run lock: touches one row). */
  async heartbeat(
    taskId: string,
    attempt: number,
    progress: number | undefined,
    message: string | undefined,
  ) {
    const task = await this.trx
      .selectFrom('tasks')
      .select(['timeout_ms'])
      .where('id', '=', taskId)
      .where('attempt', '=', attempt)
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (!task) return false;
    await this.trx
      .updateTable('tasks')
      .set({
        deadline_at: this.now + task.timeout_ms,
        progress: progress ?? null,
        progress_message: message ?? null,
      })
      .where('id', '=', taskId)
      .where('attempt', '=', attempt)
      .where('status', '=', 'running')
      .execute();
    return true;
  }

  private async finishAttempt(
    task: TaskRow,
    status: 'succeeded' | 'failed' | 'timed_out',
    error: StepError | undefined,
    workerId: string | undefined,
  ) {
    await this.trx
      .updateTable('attempts')
      .set({
        status,
        finished_at: this.now,
        error: error ? JSON.stringify(error) : null,
        worker_id: workerId ?? null,
      })
      .where('task_id', '=', task.id)
      .where('attempt', '=', task.attempt)
      .execute();
  }

  private async finishTask(
    task: TaskRow,
    status: 'succeeded' | 'failed',
    output: unknown,
    error: StepError | undefined,
  ) {
    await this.trx
      .updateTable('tasks')
      .set({
        status,
        output: status === 'succeeded' ? JSON.stringify(output ?? null) : null,
        error: error ? JSON.stringify(error) : null,
        finished_at: this.now,
        deadline_at: null,
        retry_at: null,
      })
      .where('id', '=', task.id)
      .execute();
  }

  private async afterTaskFinished(
    run: LockedRun,
    task: TaskRow,
    status: 'succeeded' | 'failed',
    error: StepError | undefined,
    known?: KnownOutput,
  ) {
    if (task.parent_id) await this.itemFinished(run, task, status, error);
    else await this.stepFinished(run, task.step, status, error, known);
  }

  /** O(1) in the fan-out size: counters on the step row, one more item released. */
  private async itemFinished(
    run: LockedRun,
    task: TaskRow,
    status: 'succeeded' | 'failed',
    error: StepError | undefined,
  ) {
    const step = run.def.stepsByName.get(task.step);
    const fan = step?.forEach;
    if (!task.parent_id || !step || !fan)
      throw new Error(`task ${task.id} is not an item of a fan-out step of ${run.def.name}`);
    const parent = await this.trx
      .updateTable('tasks')
      .set((eb) =>
        status === 'succeeded'
          ? { fan_succeeded: eb('fan_succeeded', '+', 1) }
          : { fan_failed: eb('fan_failed', '+', 1) },
      )
      .where('id', '=', task.parent_id)
      .returning(['id', 'status', 'fan_total', 'fan_released', 'fan_succeeded', 'fan_failed'])
      .executeTakeFirstOrThrow();
    if (parent.status !== 'running') return;
    const total = parent.fan_total ?? 0;
    const failed = parent.fan_failed ?? 0;
    const done = (parent.fan_succeeded ?? 0) + failed;
    const tooManyFailures =
      fan.join.kind === 'all-succeeded'
        ? failed > 0
        : fan.join.kind === 'tolerate'
          ? failed > fan.join.maxFailures
          : false;
    if (tooManyFailures) {
      const policy =
        fan.join.kind === 'tolerate'
          ? `at most ${fan.join.maxFailures} failed item(s) tolerated`
          : 'every item must succeed';
      const stepError: StepError = {
        message: `fan-out ${step.name}: item ${task.item_index} failed (${policy}): ${error?.message ?? 'unknown error'}`,
        code: error?.code ?? 'FAN_OUT_FAILED',
        retryable: false,
        details: { failedItems: failed, totalItems: total },
      };
      await this.failFanOut(run, step, parent.id, stepError);
      return;
    }
    if (done >= total) {
      await this.joinFanOut(run, step, parent.id);
      return;
    }
    const inFlight = (parent.fan_released ?? 0) - done;
    await this.release(
      run,
      step,
      parent.id,
      Math.min(fan.concurrency - inFlight, total - (parent.fan_released ?? 0)),
    );
  }

  /** Fan-in: the step's output is the list of item outputs in item order (null for failed items). */
  private async joinFanOut(run: LockedRun, step: StepDefinition, parentId: string) {
    const items = await this.trx
      .selectFrom('tasks')
      .select(['status', 'output'])
      .where('parent_id', '=', parentId)
      .orderBy('item_index')
      .execute();
    const output = items.map((i) =>
      i.status === 'succeeded' && i.output !== null ? (JSON.parse(i.output) as unknown) : null,
    );
    await this.trx
      .updateTable('tasks')
      .set({ status: 'succeeded', output: JSON.stringify(output), finished_at: this.now })
      .where('id', '=', parentId)
      .execute();
    this.stepEvent(run, { event: 'step.succeeded', step: step.name, taskId: parentId, attempt: 1 });
    await this.stepFinished(run, step.name, 'succeeded', undefined, { output });
  }

  private async failFanOut(
    run: LockedRun,
    step: StepDefinition,
    parentId: string,
    error: StepError,
  ) {
    await this.cancelTasks(
      'parent_id',
      parentId,
      `cancelled: fan-out ${step.name} of the parent run failed`,
    );
    await this.trx
      .updateTable('tasks')
      .set({ status: 'failed', error: JSON.stringify(error), finished_at: this.now })
      .where('id', '=', parentId)
      .execute();
    this.stepEvent(run, {
      event: 'step.failed',
      step: step.name,
      taskId: parentId,
      attempt: 1,
      error,
    });
    await this.stepFinished(run, step.name, 'failed', error);
  }

  /** A step (not an item) reached a final state: start dependents whose needs are all met. */
  private async stepFinished(
    run: LockedRun,
    stepName: string,
    status: 'succeeded' | 'failed' | 'skipped',
    error: StepError | undefined,
    known?: KnownOutput,
  ) {
    if (run.row.status !== 'running') return;
    if (stepName === ON_FAILURE_STEP) {
      const cause = run.row.error ? (JSON.parse(run.row.error) as StepError) : error;
      await this.completeRun(run, run.row.final_status ?? 'failed', undefined, cause);
      return;
    }
    if (status === 'failed') {
      const e = error ?? { message: 'unknown error', retryable: false };
      await this.failRun(run, 'failed', {
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
    const statuses = async () => {
      if (!statusOf) {
        const rows = await this.trx
          .selectFrom('tasks')
          .select(['step', 'status'])
          .where('run_id', '=', run.row.id)
          .where('item_index', '=', -1)
          .execute();
        statusOf = new Map(rows.map((r) => [r.step, r.status]));
      }
      return statusOf;
    };
    const outputs: Record<string, unknown> | undefined =
      known && status === 'succeeded' ? { [stepName]: known.output } : undefined;
    let started = false;
    for (const name of run.def.dependents.get(stepName) ?? []) {
      if (run.row.status !== 'running') break;
      const dependent = run.def.stepsByName.get(name);
      if (!dependent) continue;
      if (dependent.needs.length > 1 || statusOf) {
        const current = await statuses();
        if (current.has(name)) continue;
        const ready = dependent.needs.every(
          (n) => current.get(n) === 'succeeded' || current.get(n) === 'skipped',
        );
        if (!ready) continue;
      }
      statusOf?.set(name, 'running');
      started = true;
      const continuedAs =
        known?.continuedAs !== undefined && nextInChain(run.def, stepName)?.step === dependent
          ? known.continuedAs
          : undefined;
      await this.startStep(run, dependent, outputs, continuedAs);
    }
    // A dependent started above is running (a skipped one that was the last completed the run
    // itself): the run cannot be done yet.
    if (run.row.status !== 'running' || started) return;
    const current = await statuses();
    const done = run.def.steps.every(
      (s) => current.get(s.name) === 'succeeded' || current.get(s.name) === 'skipped',
    );
    if (!done) return;
    const context = await this.context(run, undefined);
    let output: unknown = context.steps;
    if (run.def.output) {
      try {
        output = await run.def.output.evaluate(context);
      } catch (e) {
        await this.failRun(run, 'failed', {
          message: `evaluating the workflow \`output\` failed: ${(e as Error).message}`,
          code: 'EXPRESSION_ERROR',
          retryable: false,
        });
        return;
      }
    }
    await this.completeRun(run, 'succeeded', output, undefined);
  }

  // -------------------------------------------------------------------------------------------
  // Events

  private event(run: LockedRun, event: Record<string, unknown> & { event: string }): void {
    this.effects.push({
      kind: 'event',
      event: {
        type: 'workflow.run.event',
        version: 1,
        runId: run.row.id,
        workflow: { name: run.def.name, version: run.def.version },
        at: new Date(this.now).toISOString(),
        ...event,
      } as RunEvent,
    });
  }

  private stepEvent(
    run: LockedRun,
    event: Record<string, unknown> & { event: string; itemIndex?: number },
  ): void {
    const { itemIndex, ...rest } = event;
    this.event(run, {
      ...rest,
      ...(itemIndex !== undefined && itemIndex >= 0 ? { itemIndex } : {}),
    });
  }
}

/** Whether a result must be ignored for this task row, and why; undefined = apply it. */
function whyIgnored(task: TaskRow | undefined, result: StepResult): Ignored | undefined {
  if (!task || task.run_id !== result.runId || task.kind !== 'queue')
    return { applied: false, reason: 'unknown-task' };
  if (task.attempt !== result.attempt) return { applied: false, reason: 'stale-attempt' };
  if (task.status !== 'running') return { applied: false, reason: 'duplicate' };
  return undefined;
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

function queueOf(step: StepDefinition): string {
  return step.action.kind === 'queue' ? step.action.queue : '';
}

/** `when` follows JSONata's boolean casting: empty strings, 0, null, empty arrays are false. */
function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(truthy);
  if (value && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}
