import type { RunEvent, StepError, StepResult } from '@conveyor/contracts';
import type { Selectable, Transaction } from 'kysely';
import type { DefinitionRegistry } from '../../definitions/registry';
import type { StepDefinition, WorkflowDefinition } from '../../definitions/model';
import type { Dialect } from '../../store/database';
import type { Statements } from '../../store/statements';
import type { Database, RunsTable, TasksTable, TaskStatus } from '../../store/tables';
import type { Effect } from '../effects';
import type { EngineMetrics } from '../metrics';

export interface TransitionDeps {
  readonly dialect: Dialect;
  /** Plain SQL for the statements every step runs (store/statements.ts). */
  readonly statements: Statements;
  readonly registry: DefinitionRegistry;
  readonly metrics: EngineMetrics;
  readonly replyTo: string;
  readonly progressTo: string;
  /** Most chain links a step request carries (0: none, the orchestrator dispatches every step). */
  readonly chainLinks: number;
  /**
   * Whether a step event would be published (effects-runner.ts); false: stepEvent does not build
   * it. Absent: every step event is built and the effects runner decides.
   */
  readonly stepEventWanted?: (
    event: string,
    workflow: string,
    itemIndex: number | undefined,
  ) => boolean;
}

export type RunRow = Selectable<RunsTable>;
export type TaskRow = Selectable<TasksTable>;

/** What a transaction's finished items did to one fan-out, settled before commit. */
export interface FanOutCounts {
  readonly run: LockedRun;
  readonly step: StepDefinition;
  succeeded: number;
  readonly failures: { readonly itemIndex: number; readonly error: StepError | undefined }[];
}

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

export type Ignored = { readonly applied: false; readonly reason: string };
export type Applied = { readonly applied: true };

/** Task statuses that still need something to happen (cancelling a run cancels these). */
export const ACTIVE: TaskStatus[] = ['pending', 'queued', 'running', 'waiting_retry'];

export function runInput(run: LockedRun): unknown {
  run.parsedInput ??= { value: JSON.parse(run.row.input) as unknown };
  return run.parsedInput.value;
}

/**
 * What every part of a transition shares: the transaction, its clock, the effects to perform
 * after commit, and the run lock. The modules beside this one (runs, steps, dispatch, fan-out,
 * results) are functions of it; `Transition` (transition.ts) is their public face.
 */
export class TransitionState {
  readonly now = Date.now();
  /** Inputs of tasks inserted by this transaction, so their requests need not parse them back. */
  readonly inputs = new WeakMap<TaskRow, unknown>();
  /** Tasks inserted by this transaction with their first attempt (steps.ts, insertTask). */
  readonly attemptWritten = new WeakSet<TaskRow>();
  /** Fan-out items finished in this transaction, by fan-out task id (fan-out.ts, settleFanOuts). */
  readonly fanOuts = new Map<string, FanOutCounts>();
  /**
   * The results of the run being applied that wait in this transaction, by task id (set by
   * results-intake.ts for each run it applies): chain links among them are written ahead.
   */
  waitingResults: ReadonlyMap<string, StepResult> | undefined;
  /** Tasks written ahead (links-ahead.ts) that insertTask has yet to reach. */
  readonly insertedAhead = new Set<string>();
  /**
   * Tasks written ahead as succeeded whose results applyResult has yet to reach: each row as the
   * success statement would have returned it.
   */
  readonly succeededAhead = new Map<string, TaskRow>();

  constructor(
    readonly trx: Transaction<Database>,
    /** Filled during the transaction, performed by the caller after commit. */
    readonly effects: Effect[],
    readonly deps: TransitionDeps,
  ) {}

  /** Rows of a SELECT or RETURNING statement, in plain SQL with `?` (store/statements.ts). */
  all<R>(text: string, params: readonly unknown[]): Promise<R[]> {
    return this.deps.statements.all<R>(this.trx, text, params);
  }

  /** A statement without rows, in plain SQL with `?` (store/statements.ts). */
  run(text: string, params: readonly unknown[]): Promise<void> {
    return this.deps.statements.run(this.trx, text, params);
  }

  async lockRun(runId: string): Promise<LockedRun | undefined> {
    // SQLite transactions are already serialised (one writer); PostgreSQL needs the row lock.
    const [row] = await this.all<RunRow>(
      this.deps.dialect === 'postgres'
        ? 'SELECT * FROM runs WHERE id = ? FOR UPDATE'
        : 'SELECT * FROM runs WHERE id = ?',
      [runId],
    );
    return row ? this.locked(row) : undefined;
  }

  /** A run row this transaction has locked, with the definition version it started on. */
  async locked(row: RunRow): Promise<LockedRun> {
    const def =
      this.deps.registry.cached(row.workflow, row.version) ??
      (await this.deps.registry.get(row.workflow, row.version, this.trx));
    if (!def) {
      throw new Error(
        `run ${row.id} uses workflow ${row.workflow} version ${row.version}, which is not registered in this database`,
      );
    }
    return { row, def };
  }

  private nowText: string | undefined;

  /** `now` as an ISO 8601 string, made once per transaction (every event of a step carries it). */
  nowIso(): string {
    this.nowText ??= new Date(this.now).toISOString();
    return this.nowText;
  }

  event(run: LockedRun, event: Record<string, unknown> & { event: string }): void {
    this.effects.push({
      kind: 'event',
      event: {
        type: 'workflow.run.event',
        version: 1,
        runId: run.row.id,
        workflow: { name: run.def.name, version: run.def.version },
        at: this.nowIso(),
        ...event,
      } as RunEvent,
    });
  }

  /** A step event; `itemIndex` only for fan-out items (≥ 0). */
  stepEvent(
    run: LockedRun,
    event: Record<string, unknown> & { event: string; itemIndex?: number },
  ): void {
    if (this.deps.stepEventWanted?.(event.event, run.def.name, event.itemIndex) === false) return;
    const { itemIndex, ...rest } = event;
    this.event(run, {
      ...rest,
      ...(itemIndex !== undefined && itemIndex >= 0 ? { itemIndex } : {}),
    });
  }
}
