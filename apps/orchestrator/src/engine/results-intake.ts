import type { Bus, QueueDefinition } from '@conveyor/bus';
import type { StepResult } from '@conveyor/contracts';
import type { Logger } from 'pino';
import type { WorkflowDefinition } from '../definitions/model';
import type { Dialect } from '../store/database';
import { chainedOnly } from './chain';
import type { EngineMetrics } from './metrics';
import type { Transact } from './transact';
import type { Applied, Ignored, Transition } from './transition';

/**
 * How long a result that overtook the result recording its step (a chain) is held, unacked,
 * before it is dropped as unknown. Its predecessor's result normally follows within a
 * millisecond; a worker that died between the two publishes has its request redelivered, and
 * the step is then recorded under the new attempt's continuation, which makes this one stale.
 */
const EARLY_RESULT_WAIT_MS = 30_000;
/** Recheck interval for a held result: another replica may record the step. */
const EARLY_RESULT_POLL_MS = 50;
/** Results delivered and not yet acked at once (AMQP prefetch of the results queue). */
export const RESULTS_PREFETCH = 256;
/**
 * Default of EngineOptions.maxHeldEarlyResults, the most early results held at once. A held
 * result keeps its prefetch slot, and the result it waits for is behind it in the queue: were
 * every slot held, nothing could arrive to release them (seen as 64 runs stalled for 30 s in the
 * benchmark's 64-run closed loop, prefetch 64). Beyond this many, an early result goes to the
 * back of the queue instead (a confirmed copy, then the original is acked), so half the slots
 * always keep results flowing.
 */
export const MAX_HELD_EARLY = RESULTS_PREFETCH / 2;

/** Most results applied in one transaction (bounds its duration and the effects it holds). */
const RESULT_BATCH_MAX = 256;

/**
 * Default of ResultsIntakeDeps.chainedRecordWaitMs (env CHAIN_RECORD_WAIT_MS). A chained step's
 * result changes nothing anyone waits for — its successor is already running — so it may wait
 * this long for company: one chain at a time, a 10-step run's links then share two or three
 * transactions instead of ten, and its last result (which completes the run) takes the rest along
 * at once. Its cost: the API, the inspector and step events show such a step as running up to
 * this much longer.
 */
export const DEFAULT_CHAINED_RECORD_WAIT_MS = 10;

/** Runs whose definition is remembered for chainedOnly (oldest forgotten first). */
const KNOWN_RUNS_MAX = 16_384;

interface PendingResult {
  readonly result: StepResult;
  readonly resolve: (outcome: Applied | Ignored) => void;
  readonly reject: (error: unknown) => void;
}

/** SQLite: a result waiting for the next group commit. */
interface GroupedResult extends PendingResult {
  /** chainedOnly when it arrived: it may wait for company (see commitGroup). */
  readonly mayWait: boolean;
  /** When it arrived (performance.now()). */
  readonly at: number;
}

/** PostgreSQL: one run's results waiting for its turn, and the timer that defers it. */
interface RunBatch {
  readonly pending: PendingResult[];
  /** Set while every waiting result may wait (chainedOnly); cleared when the turn is asked for. */
  timer: NodeJS.Timeout | undefined;
}

/**
 * The order in which to apply one run's waiting results (indices into `results`): as they came,
 * except that a result comes after the one that records its step — the success whose
 * `continuedAs` is its task id (chain.ts). A chain link's result often arrives just before its
 * predecessor's: the worker that ran the next step answers while the predecessor's result is
 * still on its way. Applied as they came, it found no task, was read back as early (three more
 * statements: a round trip each on PostgreSQL) and applied again after the predecessor: a third
 * of a chain's results, one chain at a time, on either database.
 */
export function recordOrder(results: readonly StepResult[]): number[] {
  const order: number[] = [];
  let continued: Map<string, number> | undefined;
  for (const [i, r] of results.entries())
    if (r.status === 'succeeded' && r.continuedAs !== undefined)
      (continued ??= new Map()).set(r.continuedAs, i);
  if (!continued) {
    for (let i = 0; i < results.length; i++) order.push(i);
    return order;
  }
  const placed = new Set<number>();
  for (let i = 0; i < results.length; i++) place(i, results, continued, placed, order);
  return order;
}

/** recordOrder's step: `i` after the result recording it (a cycle, which no chain makes, stops). */
function place(
  i: number,
  results: readonly StepResult[],
  continued: ReadonlyMap<string, number>,
  placed: Set<number>,
  order: number[],
): void {
  if (placed.has(i)) return;
  placed.add(i);
  const recordedBy = continued.get(results[i]?.taskId ?? '');
  if (recordedBy !== undefined) place(recordedBy, results, continued, placed, order);
  order.push(i);
}

/** Applies results of one run inside transaction `t`, under the run's lock (see recordOrder). */
async function applyEach(
  t: Transition,
  runId: string,
  pending: readonly PendingResult[],
  onLocked: (runId: string, def: WorkflowDefinition) => void,
): Promise<(Applied | Ignored)[]> {
  const order = recordOrder(pending.map((p) => p.result));
  const first = pending[order[0] ?? 0]?.result;
  const fused =
    t.deps.dialect === 'postgres' && first?.status === 'succeeded' && first.runId === runId
      ? await t.lockRunAndSucceed(first)
      : undefined;
  const run = fused ? fused.run : await t.lockRun(runId);
  if (!run) return pending.map(() => ({ applied: false, reason: 'unknown-run' }));
  onLocked(runId, run.def);
  // Chain links among them are written ahead (transition/links-ahead.ts).
  t.waitingResults = pending.length > 1 ? waitingByTask(pending) : undefined;
  const outcomes: (Applied | Ignored)[] = new Array<Applied | Ignored>(pending.length);
  for (const [k, i] of order.entries()) {
    const { result } = pending[i] as PendingResult;
    outcomes[i] = await t.applyResult(run, result, k === 0 && fused ? fused : undefined);
  }
  // A result whose step is recorded by a result that came in an earlier transaction, in another
  // process's (a replica's), or later in this batch after all (a cycle): applied again here
  // once any other result of the batch has been.
  for (let progress = outcomes.some((o) => o.applied); progress;) {
    progress = false;
    for (const i of order) {
      if (!isEarly(outcomes[i])) continue;
      outcomes[i] = await t.applyResult(run, (pending[i] as PendingResult).result);
      progress ||= outcomes[i]?.applied === true;
    }
  }
  t.waitingResults = undefined;
  if (t.insertedAhead.size > 0 || t.succeededAhead.size > 0) {
    // A row written ahead that the engine did not reach: the records would disagree with the
    // events and decisions of this transaction. Rolled back; each result is then applied alone.
    const ids = [...t.insertedAhead, ...t.succeededAhead.keys()].join(', ');
    t.insertedAhead.clear();
    t.succeededAhead.clear();
    throw new Error(`run ${runId}: chain links written ahead were not reached (tasks ${ids})`);
  }
  return outcomes;
}

/** The waiting results by task id (the first of duplicates: the others are ignored anyway). */
function waitingByTask(pending: readonly PendingResult[]): Map<string, StepResult> {
  const byTask = new Map<string, StepResult>();
  for (const { result } of pending)
    if (!byTask.has(result.taskId)) byTask.set(result.taskId, result);
  return byTask;
}

function isEarly(o: Applied | Ignored | undefined): boolean {
  return o?.applied === false && o.reason === 'early';
}

/**
 * `fn`, called once however often the returned function is. Made here rather than as a named
 * closure at the call site: the build keeps function names (esbuild keepNames, in tsx and in
 * the images), which costs every named closure a defineProperty each time it is created — on
 * the path of every result, ~2 % of the orchestrator's CPU across the engine's hot closures.
 */
function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}

export interface ResultsIntakeDeps {
  readonly dialect: Dialect;
  readonly bus: Bus;
  readonly logger: Logger;
  readonly metrics: EngineMetrics;
  /** Where an early result beyond maxHeldEarly goes back to (the queue it came from). */
  readonly resultsQueue: QueueDefinition<StepResult>;
  readonly maxHeldEarly: number;
  /** The engine's transaction boundary (engine.ts). */
  readonly transact: Transact;
  /**
   * How long a result that only records a chain link (chainedOnly) may wait to share the
   * transaction of later results; 0: every result is applied at once. Default
   * DEFAULT_CHAINED_RECORD_WAIT_MS.
   */
  readonly chainedRecordWaitMs?: number;
}

/**
 * Receives workers' results: holds early ones (chain.ts) until their step is recorded, queues
 * each run's results so that those arriving together share a transaction (on SQLite the results
 * of every run share one: group commit), and applies them through the engine's transact.
 */
export class ResultsIntake {
  /** PostgreSQL: results waiting for their run's turn, by run id (see onResult). */
  private readonly resultBatches = new Map<string, RunBatch>();
  /** SQLite: results waiting for the next group commit, and whether one is under way. */
  private readonly groupWaiting: GroupedResult[] = [];
  private groupBusy = false;
  /** SQLite: set while the next group commit waits for company (chainedOnly). */
  private groupTimer: NodeJS.Timeout | undefined;
  /** The definition of runs seen here, for chainedOnly; insertion order = age. */
  private readonly knownRuns = new Map<string, WorkflowDefinition>();
  private readonly waitMs: number;
  /** Bound once: passed to applyEach on every transaction. */
  private readonly onLocked = (runId: string, def: WorkflowDefinition) => this.noteRun(runId, def);
  /** Held early results, woken when a transaction of their run commits here (see onResult). */
  private readonly commitWaiters = new Map<string, Set<() => void>>();
  /** Early results held unacked now (see MAX_HELD_EARLY). */
  private heldEarly = 0;

  constructor(private readonly deps: ResultsIntakeDeps) {
    this.waitMs = deps.chainedRecordWaitMs ?? DEFAULT_CHAINED_RECORD_WAIT_MS;
  }

  /** Remembers the definition of a run (started here, or a result of it applied here). */
  noteRun(runId: string, def: WorkflowDefinition): void {
    if (this.waitMs <= 0 || this.knownRuns.has(runId)) return;
    this.knownRuns.set(runId, def);
    if (this.knownRuns.size > KNOWN_RUNS_MAX) {
      const oldest = this.knownRuns.keys().next();
      if (!oldest.done) this.knownRuns.delete(oldest.value);
    }
  }

  /** Whether `result` may wait (chainedOnly); false for a run whose definition is not known here. */
  private mayWait(result: StepResult): boolean {
    if (this.waitMs <= 0) return false;
    // A later result of the run is held until this one is recorded (onResult): no waiting.
    if (this.commitWaiters.has(result.runId)) return false;
    const def = this.knownRuns.get(result.runId);
    return def !== undefined && chainedOnly(def, result);
  }

  /** See Engine.onResult. */
  async onResult(result: StepResult, messageId?: string): Promise<'applied' | string> {
    const giveUpAt = Date.now() + EARLY_RESULT_WAIT_MS;
    let outcome = await this.queueResult(result);
    if (
      !outcome.applied &&
      outcome.reason === 'early' &&
      this.heldEarly >= this.deps.maxHeldEarly
    ) {
      // Durable before the original is acked: the copy is confirmed by the broker first.
      await this.deps.bus.publish(this.deps.resultsQueue, result, {
        messageId: messageId ?? `${result.taskId}:${result.attempt}`,
        correlationId: result.runId,
        validate: false, // validated when it arrived; passed on unchanged
      });
      this.deps.metrics.ignoredResults.inc({ reason: 'early-requeued' });
      return 'early-requeued';
    }
    // Overtook the result that records its step (chain.ts): held, unacked, until that is applied.
    const held = !outcome.applied && outcome.reason === 'early';
    if (held) this.heldEarly++;
    try {
      while (!outcome.applied && outcome.reason === 'early' && Date.now() < giveUpAt) {
        // Listening before retrying, so a commit between the retry and the wait is not missed.
        const committed = this.nextCommit(result.runId, EARLY_RESULT_POLL_MS);
        outcome = await this.queueResult(result);
        if (!outcome.applied && outcome.reason === 'early') await committed;
      }
    } finally {
      if (held) this.heldEarly--;
    }
    if (!outcome.applied && outcome.reason === 'early') {
      this.deps.logger.warn(
        { runId: result.runId, step: result.step, taskId: result.taskId },
        `dropped a result whose step was not recorded within ${EARLY_RESULT_WAIT_MS} ms (a chain continued by an attempt whose result was not accepted)`,
      );
    }
    if (!outcome.applied) {
      this.deps.metrics.ignoredResults.inc({ reason: outcome.reason });
      this.deps.logger.debug(
        { taskId: result.taskId, attempt: result.attempt, reason: outcome.reason },
        'ignored a step result',
      );
      return outcome.reason;
    }
    return 'applied';
  }

  /** Wakes the early results of the run held here: a transaction of the run has committed. */
  wakeCommitWaiters(runId: string): void {
    const set = this.commitWaiters.get(runId);
    if (set) for (const wake of [...set]) wake();
  }

  private queueResult(result: StepResult): Promise<Applied | Ignored> {
    const mayWait = this.mayWait(result);
    if (this.deps.dialect === 'sqlite') return this.queueForGroupCommit(result, mayWait);
    return new Promise<Applied | Ignored>((resolve, reject) => {
      const { runId } = result;
      const waiting = this.resultBatches.get(runId);
      if (waiting) {
        waiting.pending.push({ result, resolve, reject });
        if (!mayWait && waiting.timer) {
          clearTimeout(waiting.timer);
          waiting.timer = undefined;
          this.applyResultBatch(runId);
        }
        return;
      }
      const batch: RunBatch = { pending: [{ result, resolve, reject }], timer: undefined };
      this.resultBatches.set(runId, batch);
      if (!mayWait) this.applyResultBatch(runId);
      else
        batch.timer = setTimeout(() => {
          batch.timer = undefined;
          this.applyResultBatch(runId);
        }, this.waitMs);
    });
  }

  /**
   * SQLite: results of every run share a transaction (group commit). SQLite has one writer, so
   * one result transaction runs at a time and whatever arrives meanwhile makes the next one: a
   * commit costs more CPU than the statements of a step, and under load it is then paid once per
   * batch rather than once per step. (PostgreSQL keeps one transaction per run, many at once:
   * there each statement is a round trip, and a transaction holding many runs would run theirs
   * one after another where separate transactions run them in parallel.)
   */
  private queueForGroupCommit(result: StepResult, mayWait: boolean): Promise<Applied | Ignored> {
    return new Promise<Applied | Ignored>((resolve, reject) => {
      this.groupWaiting.push({ result, resolve, reject, mayWait, at: performance.now() });
      if (!mayWait && this.groupTimer) {
        clearTimeout(this.groupTimer);
        this.groupTimer = undefined;
        queueMicrotask(() => this.commitGroup());
        return;
      }
      if (this.groupBusy) return;
      this.groupBusy = true;
      // After every delivery of the same socket read has queued its result: they share it.
      queueMicrotask(() => this.commitGroup());
    });
  }

  private commitGroup(): void {
    const first = this.groupWaiting[0];
    if (!first) {
      this.groupBusy = false;
      return;
    }
    // Only chain links' records wait: they wait for company, up to waitMs after the first came.
    if (this.groupWaiting.length < RESULT_BATCH_MAX && this.groupWaiting.every((w) => w.mayWait)) {
      const wait = first.at + this.waitMs - performance.now();
      if (wait > 0) {
        this.groupTimer = setTimeout(() => {
          this.groupTimer = undefined;
          this.commitGroup();
        }, wait);
        return;
      }
    }
    const taken = this.groupWaiting.splice(0, RESULT_BATCH_MAX);
    const batch = new Map<string, PendingResult[]>();
    for (const p of taken) {
      const group = batch.get(p.result.runId);
      if (group) group.push(p);
      else batch.set(p.result.runId, [p]);
    }
    // The next batch starts once this one has committed, not after its effects' confirms.
    const next = once(() => this.commitGroup());
    void this.applyGroup(batch, next).finally(next);
  }

  private async applyGroup(
    batch: Map<string, PendingResult[]>,
    onCommitted: () => void,
  ): Promise<void> {
    let outcomes: Map<string, (Applied | Ignored)[]>;
    try {
      outcomes = await this.deps.transact(
        'result',
        async (t) => {
          const byRun = new Map<string, (Applied | Ignored)[]>();
          for (const [runId, pending] of batch)
            byRun.set(runId, await applyEach(t, runId, pending, this.onLocked));
          return byRun;
        },
        undefined,
        onCommitted,
      );
    } catch (error) {
      onCommitted();
      const failed = [...batch].flatMap(([runId, pending]) => pending.map((p) => ({ runId, p })));
      if (failed.length === 1) failed[0]?.p.reject(error);
      // One bad result must not take the others down with it: each goes alone (and only the
      // culprit's delivery is retried or dead-lettered by the bus).
      else for (const { runId, p } of failed) this.applyAlone(runId, p);
      return;
    }
    for (const [runId, pending] of batch) {
      const results = outcomes.get(runId) ?? [];
      pending.forEach((p, i) => p.resolve(results[i] as Applied | Ignored));
      if (results.some((o) => o.applied)) this.wakeCommitWaiters(runId);
    }
  }

  /** Resolves after the next transaction of the run commits in this process, or after `ms`. */
  private nextCommit(runId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.commitWaiters.get(runId) ?? new Set();
      const wake = () => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0 && this.commitWaiters.get(runId) === set)
          this.commitWaiters.delete(runId);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      set.add(wake);
      this.commitWaiters.set(runId, set);
    });
  }

  /** Takes the run's turn and applies every result waiting for it then (up to a cap). */
  private applyResultBatch(runId: string): void {
    let batch: PendingResult[] | undefined;
    this.deps
      .transact(
        'result',
        (t) => {
          // Taken once, when the run's turn comes; a retried transaction re-applies the same batch.
          if (!batch) {
            const waiting = this.resultBatches.get(runId)?.pending ?? [];
            batch = waiting.splice(0, RESULT_BATCH_MAX);
            if (waiting.length === 0) this.resultBatches.delete(runId);
            // More than one transaction's worth waited: the rest take the next turn.
            else this.applyResultBatch(runId);
          }
          return applyEach(t, runId, batch, this.onLocked);
        },
        runId,
      )
      .then(
        (outcomes) => {
          batch?.forEach((p, i) => p.resolve(outcomes[i] as Applied | Ignored));
          if (outcomes.some((o) => o.applied)) this.wakeCommitWaiters(runId);
        },
        (error: unknown) => {
          const failed = batch ?? [];
          if (failed.length === 1) failed[0]?.reject(error);
          // One bad result must not take the others down with it: each goes alone (and only the
          // culprit's delivery is retried or dead-lettered by the bus).
          else for (const p of failed) this.applyAlone(runId, p);
        },
      );
  }

  private applyAlone(runId: string, pending: PendingResult): void {
    this.deps
      .transact('result', (t) => applyEach(t, runId, [pending], this.onLocked), runId)
      .then(([outcome]) => {
        pending.resolve(outcome as Applied | Ignored);
        if (outcome?.applied) this.wakeCommitWaiters(runId);
      }, pending.reject);
  }
}
