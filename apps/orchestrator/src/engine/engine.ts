import type { Bus, DeadLetter, QueueType, Subscription } from '@conveyor/bus';
import type { RunEvent, StepError, StepProgress, StepResult } from '@conveyor/contracts';
import {
  assertStepQueue,
  DEFAULT_STEP_QUEUE_TYPE,
  runEventRoutingKey,
  runEventsTopic,
  stepProgressQueue,
  stepQueue,
  stepResultsQueue,
} from '@conveyor/worker-sdk';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { DefinitionRegistry } from '../definitions/registry';
import type { WorkflowDefinition } from '../definitions/model';
import { boundStepResult, logField } from '../limits';
import type { Store } from '../store/database';
import type { Applied, Ignored, LockedRun, RunRow, TaskRow, TransitionDeps } from './transition';
import { buildRequest, Transition } from './transition';
import type { Effect } from './effects';
import { KeyedMutex } from './keyed-mutex';
import type { EngineMetrics } from './metrics';

export interface EngineOptions {
  readonly store: Store;
  readonly registry: DefinitionRegistry;
  readonly bus: Bus;
  readonly logger: Logger;
  readonly metrics: EngineMetrics;
  readonly resultsQueue: string;
  readonly progressQueue: string;
  readonly eventsExchange: string;
  /** How often the sweeper looks for timeouts, due retries and unconfirmed publishes. */
  readonly sweepIntervalMs: number;
  /** A dispatched request not confirmed by the broker after this long is republished. */
  readonly republishAfterMs: number;
  /**
   * Step events (dispatched/succeeded/retrying…) on the topic: `steps` leaves out fan-out items,
   * whose events would be as many as the items (20,000 messages for a 10,000-way fan-out; the
   * fan-out's own step events and the API's counters cover them). Run events are always sent.
   */
  readonly stepEvents: StepEvents;
  /** RabbitMQ type of the step, result and progress queues (default classic); see the bus README. */
  readonly stepQueueType?: QueueType;
  /**
   * Most following steps a step request lists for its worker to start itself (chain.ts);
   * 0 turns chains off. Default DEFAULT_CHAIN_LINKS.
   */
  readonly chainLinks?: number;
}

/** Default of EngineOptions.chainLinks: a cancelled run's continued links run out within it. */
export const DEFAULT_CHAIN_LINKS = 16;

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
const RESULTS_PREFETCH = 256;
/**
 * Most early results held at once. A held result keeps its prefetch slot, and the result it
 * waits for is behind it in the queue: were every slot held, nothing could arrive to release
 * them (seen as 64 runs stalled for 30 s in the benchmark's 64-run closed loop, prefetch 64).
 * Beyond this many, an early result goes to the back of the queue instead (a confirmed copy,
 * then the original is acked), so half the slots always keep results flowing.
 */
const MAX_HELD_EARLY = RESULTS_PREFETCH / 2;

/**
 * How long step events of one routing key are skipped after the broker returned one unrouted
 * (nobody bound to receive it). Each costs a confirmed publish — a third of a chain link's
 * orchestrator CPU — so they go out only while someone listens: an SSE stream on any replica,
 * a dashboard's binding. A new listener elsewhere gets them within this delay.
 */
const UNHEARD_RECHECK_MS = 1000;

export type StepEvents = 'all' | 'steps' | 'none';

export type StartRunResult =
  | { readonly kind: 'started' | 'existing'; readonly run: RunRow }
  | { readonly kind: 'unknown-workflow'; readonly message: string }
  | {
      readonly kind: 'invalid-input';
      readonly message: string;
      readonly issues: readonly { path: string; message: string }[];
    };

/** How long the subscription to every run event outlives its last SSE listener. */
const LISTEN_LINGER_MS = 30_000;

/** How long publish confirms are collected before they are recorded in one UPDATE. */
const PUBLISHED_FLUSH_MS = 1000;

/** Most results applied in one transaction (bounds its duration and the effects it holds). */
const RESULT_BATCH_MAX = 256;

interface PendingResult {
  readonly result: StepResult;
  readonly resolve: (outcome: Applied | Ignored) => void;
  readonly reject: (error: unknown) => void;
}

/** Applies results of one run in order inside transaction `t`, under the run's lock. */
async function applyEach(
  t: Transition,
  runId: string,
  pending: readonly PendingResult[],
): Promise<(Applied | Ignored)[]> {
  const run = await t.lockRun(runId);
  if (!run) return pending.map(() => ({ applied: false, reason: 'unknown-run' }));
  const outcomes: (Applied | Ignored)[] = [];
  for (const { result } of pending) outcomes.push(await t.applyResult(run, result));
  // A chain's results often arrive together, the next step's first (chain.ts): once the one
  // that records its step is applied, the early one applies in the same transaction.
  const isEarly = (o: Applied | Ignored | undefined) =>
    o?.applied === false && o.reason === 'early';
  for (let progress = outcomes.some((o) => o.applied); progress;) {
    progress = false;
    for (const [i, { result }] of pending.entries()) {
      if (!isEarly(outcomes[i])) continue;
      outcomes[i] = await t.applyResult(run, result);
      progress ||= outcomes[i]?.applied === true;
    }
  }
  return outcomes;
}

/** Postgres errors worth retrying the whole transaction for: deadlock, serialization, unique race. */
const RETRYABLE_SQLSTATE = new Set(['40P01', '40001', '23505']);

/**
 * The orchestrator's engine: consumes results and heartbeats, runs every state change as one
 * transaction (transition.ts), then performs the transaction's effects. A sweeper covers what no
 * message announces: timeouts, due retries, workflow deadlines and unconfirmed publishes.
 */
export class Engine {
  private sweepTimer: NodeJS.Timeout | undefined;
  private wakeTimer: { at: number; timer: NodeJS.Timeout } | undefined;
  private sweeping: Promise<void> | undefined;
  private stopped = false;
  private readonly pendingPublished = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly listeners = new Set<(event: RunEvent) => void>();
  private readonly allEvents: {
    subscription?: Promise<Subscription> | undefined;
    linger?: NodeJS.Timeout;
  } = {};
  private subscriptions: { cancel(): Promise<void> }[] = [];
  private sweepCount = 0;
  private readonly runMutex = new KeyedMutex();
  /** Results waiting for their run's turn, by run id (see onResult). */
  private readonly resultBatches = new Map<string, PendingResult[]>();
  /** SQLite: results waiting for the next group commit, and whether one is under way. */
  private readonly groupWaiting: PendingResult[] = [];
  private groupBusy = false;
  /** Step-event routing keys nobody was bound to, and until when they are skipped (ms). */
  private readonly unheardUntil = new Map<string, number>();
  /** Held early results, woken when a transaction of their run commits here (see onResult). */
  private readonly commitWaiters = new Map<string, Set<() => void>>();
  /** Early results held unacked now (see MAX_HELD_EARLY). */
  private heldEarly = 0;

  constructor(private readonly options: EngineOptions) {}

  private get queueType(): QueueType {
    return this.options.stepQueueType ?? DEFAULT_STEP_QUEUE_TYPE;
  }

  get db() {
    return this.options.store.db;
  }

  /** Declares the queues and starts consuming results, heartbeats and (for SSE) run events. */
  async start(): Promise<void> {
    const { bus } = this.options;
    const results = stepResultsQueue(this.options.resultsQueue, this.queueType);
    const progress = stepProgressQueue(this.options.progressQueue, this.queueType);
    // Every protocol queue is declared now, so a queue left with the other type stops the start-up
    // with an explanation instead of failing the first step that uses it.
    await assertStepQueue(bus, results);
    await assertStepQueue(bus, progress);
    for (const queue of this.stepQueueNames())
      await assertStepQueue(bus, stepQueue(queue, this.queueType));
    this.subscriptions.push(
      await bus.consume(
        results,
        (d) => this.onResult(boundStepResult(d.message), d.messageId).then(() => undefined),
        { prefetch: RESULTS_PREFETCH },
      ),
      await bus.consume(progress, (d) => this.onProgress(d.message), { prefetch: 64 }),
      // Transient: every replica sees every completion, so waiters on any replica are served.
      // Step events come back to this process only while an SSE client listens (onEvent).
      await bus.subscribe(
        runEventsTopic(this.options.eventsExchange),
        async (d) => this.notifyWaiters(d.message.runId),
        { pattern: 'run.completed.#', prefetch: 256 },
      ),
    );
    this.scheduleSweep(0);
  }

  /** The step queues of every registered workflow version (step and on-failure actions). */
  stepQueueNames(): Set<string> {
    const names = new Set<string>();
    for (const def of this.options.registry.all())
      for (const step of [...def.steps, ...(def.onFailure ? [def.onFailure] : [])])
        if (step.action.kind === 'queue') names.add(step.action.queue);
    return names;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer.timer);
    clearTimeout(this.allEvents.linger);
    const all = this.allEvents.subscription;
    this.allEvents.subscription = undefined;
    await Promise.all([
      ...this.subscriptions.map((s) => s.cancel()),
      all?.then((s) => s.cancel()).catch(() => undefined),
    ]);
    this.subscriptions = [];
    await this.sweeping;
    await this.flushPublished();
  }

  // -------------------------------------------------------------------------------------------
  // Transactions and effects

  /**
   * Runs `fn` in one transaction (retried on PostgreSQL conflicts), then performs its effects.
   * With `runId`, transactions of that run queue up in memory first (see KeyedMutex); the effects
   * — waiting for broker confirms — happen after the run is released, so a fan-out's next item
   * does not wait for the previous item's publish.
   */
  private async transact<T>(
    kind: string,
    fn: (t: Transition) => Promise<T>,
    runId?: string,
    /** Called once committed, before the effects are performed. */
    onCommitted?: () => void,
  ): Promise<T> {
    const started = performance.now();
    const effects: Effect[] = [];
    const commit = async (): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.db.transaction().execute(async (trx) => {
            effects.length = 0;
            const t = new Transition(trx, effects, this.transitionDeps());
            const value = await fn(t);
            await t.settle();
            return value;
          });
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (code && RETRYABLE_SQLSTATE.has(code) && attempt < 5) {
            this.options.logger.debug({ code, attempt, kind }, 'transaction conflict, retrying');
            continue;
          }
          throw error;
        }
      }
    };
    const value = runId === undefined ? await commit() : await this.runMutex.run(runId, commit);
    onCommitted?.();
    // Results wake held results themselves, and only when they changed something: two held
    // results of one run must not wake each other in a loop.
    if (runId !== undefined && kind !== 'result') this.wakeCommitWaiters(runId);
    this.options.metrics.transition.observe({ kind }, (performance.now() - started) / 1000);
    await this.perform(effects);
    return value;
  }

  private deps: TransitionDeps | undefined;

  /** The same for every transaction: built once. */
  private transitionDeps(): TransitionDeps {
    this.deps ??= {
      dialect: this.options.store.dialect,
      statements: this.options.store.statements,
      registry: this.options.registry,
      metrics: this.options.metrics,
      replyTo: this.options.resultsQueue,
      progressTo: this.options.progressQueue,
      chainLinks: this.options.chainLinks ?? DEFAULT_CHAIN_LINKS,
    };
    return this.deps;
  }

  private async perform(effects: readonly Effect[]): Promise<void> {
    const { bus, logger } = this.options;
    const work: Promise<unknown>[] = [];
    // Step requests go on the wire first: they are the next step's critical path, while events
    // (best effort) and completions are not. Their relative order does not matter to anyone.
    const ordered = [
      ...effects.filter((e) => e.kind === 'dispatch'),
      ...effects.filter((e) => e.kind !== 'dispatch'),
    ];
    for (const effect of ordered) {
      switch (effect.kind) {
        case 'dispatch': {
          const { request } = effect;
          work.push(
            bus
              .publish(stepQueue(request.queue, this.queueType), request, {
                messageId: `${request.taskId}:${request.attempt}`,
                correlationId: request.runId,
              })
              .then(
                () => this.markPublished(request.taskId),
                // Left unconfirmed in the outbox: the sweeper republishes it.
                (error: unknown) =>
                  logger.warn(
                    { err: error, taskId: request.taskId },
                    'publishing a step request failed; the sweeper will retry',
                  ),
              ),
          );
          break;
        }
        case 'event':
          if (this.wantsEvent(effect.event)) this.publishEvent(effect.event);
          break;
        case 'run-completed':
          work.push(this.deliverCompletion(effect.runId));
          break;
        case 'wake':
          this.wakeAt(effect.at);
          break;
      }
    }
    await Promise.all(work);
  }

  private wantsEvent(event: RunEvent): boolean {
    if (event.event === 'run.started' || event.event === 'run.completed') return true;
    const mode = this.options.stepEvents;
    return (
      mode === 'all' ||
      (mode === 'steps' && !('itemIndex' in event && event.itemIndex !== undefined))
    );
  }

  private publishEvent(event: RunEvent): void {
    const routingKey = runEventRoutingKey(event);
    const stepEvent = event.event !== 'run.started' && event.event !== 'run.completed';
    if (stepEvent) {
      const until = this.unheardUntil.get(routingKey);
      if (until !== undefined && until > Date.now()) {
        this.options.metrics.stepEventsSkipped.inc();
        return;
      }
      this.unheardUntil.delete(routingKey);
    }
    // Best effort for step events (the database is the record); the completion has an outbox.
    this.options.bus
      .publishEvent(runEventsTopic(this.options.eventsExchange), event, {
        routingKey,
        ...(stepEvent
          ? {
              onUnroutable: () =>
                this.unheardUntil.set(routingKey, Date.now() + UNHEARD_RECHECK_MS),
            }
          : {}),
      })
      .catch((error: unknown) =>
        this.options.logger.warn(
          { err: error, event: event.event },
          'publishing a run event failed',
        ),
      );
  }

  private markPublished(taskId: string): void {
    this.pendingPublished.add(taskId);
    // Batched, once a second: the flag only matters to the sweeper, which republishes what was
    // not confirmed after republishAfterMs (45 s). Most steps have finished by the flush, and
    // the UPDATE skips them (a finished task is never republished), so a fast chain writes
    // nothing for it. A crash inside the window costs a duplicate request, which at-least-once
    // delivery already allows (the orchestrator ignores the second result).
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.flushPublished().catch((error: unknown) =>
        this.options.logger.warn({ err: error }, 'recording publish confirms failed'),
      );
    }, PUBLISHED_FLUSH_MS);
  }

  private async flushPublished(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    if (this.pendingPublished.size === 0) return;
    const ids = [...this.pendingPublished];
    this.pendingPublished.clear();
    for (let i = 0; i < ids.length; i += 500) {
      const update = () =>
        this.db
          .updateTable('tasks')
          .set({ published: 1 })
          .where('id', 'in', ids.slice(i, i + 500))
          .where('status', '=', 'running')
          .where('published', '=', 0)
          .execute();
      // On PostgreSQL this many-row UPDATE can deadlock with a transaction that holds some of
      // the same rows (a fan-out's release); it only sets a flag, so it is simply run again.
      for (let attempt = 1; ; attempt++) {
        try {
          await update();
          break;
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (!code || !RETRYABLE_SQLSTATE.has(code) || attempt >= 5) throw error;
        }
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Public operations

  async startRun(params: {
    workflow: string;
    version?: number | undefined;
    input: unknown;
    idempotencyKey?: string | undefined;
    callbackUrl?: string | undefined;
    /** Order among steps waiting for a limited queue (higher first; default 0). */
    priority?: number | undefined;
  }): Promise<StartRunResult> {
    const { registry } = this.options;
    let def: WorkflowDefinition | undefined;
    if (params.version !== undefined) def = await registry.get(params.workflow, params.version);
    else def = registry.latestVersion(params.workflow);
    if (!def) {
      const known = registry.list().map((d) => `${d.name} (v${d.version})`);
      return {
        kind: 'unknown-workflow',
        message: `unknown workflow ${params.workflow}${params.version !== undefined ? ` version ${params.version}` : ''}; known: ${known.join(', ') || 'none'}`,
      };
    }
    const issues = validateInput(def, params.input);
    if (issues.length > 0) {
      return {
        kind: 'invalid-input',
        message: `input does not match the inputSchema of workflow ${def.name} version ${def.version}`,
        issues,
      };
    }
    let key = params.idempotencyKey;
    if (key === undefined && def.idempotencyKey) {
      const value = await def.idempotencyKey.evaluate({
        input: params.input,
        steps: {},
        run: { id: '', workflow: def.name, version: def.version },
      });
      if (value !== null && value !== undefined && value !== '')
        key = typeof value === 'string' ? value : JSON.stringify(value);
    }
    const { run, created } = await this.transact('start', (t) =>
      t.createRun({
        def,
        input: params.input,
        idempotencyKey: key,
        callbackUrl: params.callbackUrl,
        ...(params.priority !== undefined ? { priority: params.priority } : {}),
      }),
    );
    return { kind: created ? 'started' : 'existing', run };
  }

  /**
   * Applies a worker's result. Duplicates and late results are counted and dropped.
   *
   * Results of one run that arrive while the run is busy wait together and are applied in one
   * transaction when its turn comes: a fan-out's items then share a commit. On PostgreSQL every
   * commit waits for a WAL flush (fsync), and the run's row lock lets only one commit through at
   * a time, so one commit per item capped a fan-out at ~100 items/s. On SQLite the results of
   * every run wait together (queueForGroupCommit). A lone result (a chain link on an idle
   * orchestrator) still gets its own transaction at once.
   */
  async onResult(result: StepResult, messageId?: string): Promise<'applied' | string> {
    const giveUpAt = Date.now() + EARLY_RESULT_WAIT_MS;
    let outcome = await this.queueResult(result);
    if (!outcome.applied && outcome.reason === 'early' && this.heldEarly >= MAX_HELD_EARLY) {
      // Durable before the original is acked: the copy is confirmed by the broker first.
      await this.options.bus.publish(
        stepResultsQueue(this.options.resultsQueue, this.queueType),
        result,
        {
          messageId: messageId ?? `${result.taskId}:${result.attempt}`,
          correlationId: result.runId,
        },
      );
      this.options.metrics.ignoredResults.inc({ reason: 'early-requeued' });
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
      this.options.logger.warn(
        { runId: result.runId, step: result.step, taskId: result.taskId },
        `dropped a result whose step was not recorded within ${EARLY_RESULT_WAIT_MS} ms (a chain continued by an attempt whose result was not accepted)`,
      );
    }
    if (!outcome.applied) {
      this.options.metrics.ignoredResults.inc({ reason: outcome.reason });
      this.options.logger.debug(
        { taskId: result.taskId, attempt: result.attempt, reason: outcome.reason },
        'ignored a step result',
      );
      return outcome.reason;
    }
    return 'applied';
  }

  private queueResult(result: StepResult): Promise<Applied | Ignored> {
    if (this.options.store.dialect === 'sqlite') return this.queueForGroupCommit(result);
    return new Promise<Applied | Ignored>((resolve, reject) => {
      const waiting = this.resultBatches.get(result.runId);
      if (waiting) waiting.push({ result, resolve, reject });
      else {
        this.resultBatches.set(result.runId, [{ result, resolve, reject }]);
        this.applyResultBatch(result.runId);
      }
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
  private queueForGroupCommit(result: StepResult): Promise<Applied | Ignored> {
    return new Promise<Applied | Ignored>((resolve, reject) => {
      this.groupWaiting.push({ result, resolve, reject });
      if (this.groupBusy) return;
      this.groupBusy = true;
      // After every delivery of the same socket read has queued its result: they share it.
      queueMicrotask(() => this.commitGroup());
    });
  }

  private commitGroup(): void {
    const taken = this.groupWaiting.splice(0, RESULT_BATCH_MAX);
    if (taken.length === 0) {
      this.groupBusy = false;
      return;
    }
    const batch = new Map<string, PendingResult[]>();
    for (const p of taken) {
      const group = batch.get(p.result.runId);
      if (group) group.push(p);
      else batch.set(p.result.runId, [p]);
    }
    let freed = false;
    // The next batch starts once this one has committed, not after its effects' confirms.
    const next = () => {
      if (freed) return;
      freed = true;
      this.commitGroup();
    };
    void this.applyGroup(batch, next).finally(next);
  }

  private async applyGroup(
    batch: Map<string, PendingResult[]>,
    onCommitted: () => void,
  ): Promise<void> {
    let outcomes: Map<string, (Applied | Ignored)[]>;
    try {
      outcomes = await this.transact(
        'result',
        async (t) => {
          const byRun = new Map<string, (Applied | Ignored)[]>();
          for (const [runId, pending] of batch)
            byRun.set(runId, await applyEach(t, runId, pending));
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

  private wakeCommitWaiters(runId: string): void {
    const set = this.commitWaiters.get(runId);
    if (set) for (const wake of [...set]) wake();
  }

  /** Takes the run's turn and applies every result waiting for it then (up to a cap). */
  private applyResultBatch(runId: string): void {
    let batch: PendingResult[] | undefined;
    this.transact(
      'result',
      (t) => {
        // Taken once, when the run's turn comes; a retried transaction re-applies the same batch.
        if (!batch) {
          const waiting = this.resultBatches.get(runId) ?? [];
          batch = waiting.splice(0, RESULT_BATCH_MAX);
          if (waiting.length === 0) this.resultBatches.delete(runId);
          // More than one transaction's worth waited: the rest take the next turn.
          else this.applyResultBatch(runId);
        }
        return applyEach(t, runId, batch);
      },
      runId,
    ).then(
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
    this.transact('result', (t) => applyEach(t, runId, [pending]), runId).then(([outcome]) => {
      pending.resolve(outcome as Applied | Ignored);
      if (outcome?.applied) this.wakeCommitWaiters(runId);
    }, pending.reject);
  }

  async onProgress(progress: StepProgress): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const transition = new Transition(trx, [], this.transitionDeps());
      await transition.heartbeat(
        progress.taskId,
        progress.attempt,
        progress.progress,
        progress.message,
      );
    });
  }

  async cancelRun(
    runId: string,
    reason: string,
  ): Promise<'cancelled' | 'not-found' | 'already-finished'> {
    return this.transact(
      'cancel',
      async (t) => {
        const run = await t.lockRun(runId);
        if (!run) return 'not-found' as const;
        if (run.row.status !== 'running') return 'already-finished' as const;
        await t.cancelRun(run, reason);
        return 'cancelled' as const;
      },
      runId,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Completion: event, callback, waiters

  private async deliverCompletion(runId: string): Promise<void> {
    const { logger } = this.options;
    const run = await this.db
      .selectFrom('runs')
      .selectAll()
      .where('id', '=', runId)
      .executeTakeFirst();
    if (!run || run.status === 'running' || run.completion_published) return;
    this.notifyWaiters(runId);
    const event: RunEvent = {
      type: 'workflow.run.event',
      version: 1,
      event: 'run.completed',
      runId,
      workflow: { name: run.workflow, version: run.version },
      at: new Date(run.finished_at ?? Date.now()).toISOString(),
      status: run.status,
      ...(run.output !== null ? { output: JSON.parse(run.output) as unknown } : {}),
      ...(run.error !== null ? { error: JSON.parse(run.error) as StepError } : {}),
      ...(run.parent_run_id ? { parentRunId: run.parent_run_id } : {}),
    };
    let delivered = true;
    try {
      await this.options.bus.publishEvent(runEventsTopic(this.options.eventsExchange), event, {
        routingKey: runEventRoutingKey(event),
      });
    } catch (error) {
      delivered = false;
      logger.warn({ err: error, runId }, 'publishing run.completed failed; will retry');
    }
    if (delivered && run.callback_url) {
      try {
        const response = await fetch(run.callback_url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(5000),
        });
        if (!response.ok) throw new Error(`callback answered HTTP ${response.status}`);
      } catch (error) {
        delivered = run.completion_attempts + 1 >= 5;
        logger.warn(
          {
            err: error,
            runId,
            url: run.callback_url,
            attempt: run.completion_attempts + 1,
            givingUp: delivered,
          },
          'completion callback failed',
        );
      }
    }
    await this.db
      .updateTable('runs')
      .set({
        completion_published: delivered ? 1 : 0,
        completion_attempts: run.completion_attempts + 1,
      })
      .where('id', '=', runId)
      .execute();
  }

  /**
   * Every run event seen by this replica (from all replicas), for SSE streams. Resolves once the
   * events are flowing, so a snapshot read afterwards misses nothing. The subscription to every
   * event exists only while someone listens (and LISTEN_LINGER_MS after): otherwise each step's
   * events would travel back through the broker into this process for nobody, on the hot path's
   * CPU.
   */
  async onEvent(listener: (event: RunEvent) => void): Promise<() => void> {
    this.listeners.add(listener);
    clearTimeout(this.allEvents.linger);
    try {
      this.allEvents.subscription ??= this.options.bus.subscribe(
        runEventsTopic(this.options.eventsExchange),
        async (d) => {
          for (const l of this.listeners) l(d.message);
        },
        { pattern: '#', prefetch: 256 },
      );
      await this.allEvents.subscription;
      // This replica now listens to every event: skip none from here on.
      this.unheardUntil.clear();
    } catch (error) {
      this.listeners.delete(listener);
      this.allEvents.subscription = undefined;
      throw error;
    }
    return () => {
      if (!this.listeners.delete(listener) || this.listeners.size > 0 || this.stopped) return;
      clearTimeout(this.allEvents.linger);
      this.allEvents.linger = setTimeout(() => {
        const subscription = this.allEvents.subscription;
        if (this.listeners.size > 0 || !subscription) return;
        this.allEvents.subscription = undefined;
        subscription
          .then((s) => s.cancel())
          .catch((error: unknown) =>
            this.options.logger.warn({ err: error }, 'cancelling the event subscription failed'),
          );
      }, LISTEN_LINGER_MS);
    };
  }

  private notifyWaiters(runId: string): void {
    const set = this.waiters.get(runId);
    if (!set) return;
    this.waiters.delete(runId);
    for (const wake of set) wake();
  }

  /** Resolves when the run has finished or after `timeoutMs`, with the run row either way. */
  async waitForRun(runId: string, timeoutMs: number): Promise<RunRow | undefined> {
    const read = () =>
      this.db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
    const first = await read();
    if (!first || first.status !== 'running') return first;
    await new Promise<void>((resolve) => {
      const set = this.waiters.get(runId) ?? new Set();
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        set.delete(wake);
        resolve();
      }, timeoutMs);
      set.add(wake);
      this.waiters.set(runId, set);
      // The run may have finished between the read and the registration.
      read().then(
        (r) => r && r.status !== 'running' && this.notifyWaiters(runId),
        () => undefined,
      );
    });
    return read();
  }

  // -------------------------------------------------------------------------------------------
  // Sweeper

  private scheduleSweep(delay: number): void {
    if (this.stopped) return;
    this.sweepTimer = setTimeout(() => {
      this.sweeping = this.sweep()
        .catch((error: unknown) => this.options.logger.error({ err: error }, 'sweep failed'))
        .finally(() => {
          this.sweeping = undefined;
          this.scheduleSweep(this.options.sweepIntervalMs);
        });
    }, delay);
  }

  private wakeAt(at: number): void {
    if (this.stopped || (this.wakeTimer && this.wakeTimer.at <= at)) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer.timer);
    const timer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        if (this.sweeping) {
          // The pass under way may have looked before this became due: look again after it.
          void this.sweeping.then(() => this.wakeAt(Date.now()));
          return;
        }
        this.sweeping = this.retryDue()
          .catch((error: unknown) =>
            this.options.logger.error({ err: error }, 'retry sweep failed'),
          )
          .finally(() => (this.sweeping = undefined));
      },
      Math.max(0, at - Date.now()),
    );
    this.wakeTimer = { at, timer };
  }

  /** One pass; public so that tests and benchmarks can drive it deterministically. */
  async sweep(): Promise<void> {
    this.sweepCount++;
    await this.retryDue();
    await this.timeouts();
    await this.runDeadlines();
    await this.republish();
    await this.redeliverCompletions();
    if (this.sweepCount % 10 === 1) await this.drainDeadLetters();
  }

  private async retryDue(): Promise<void> {
    await this.retryWaiting();
    await this.admitQueued();
  }

  /**
   * Steps held back by their queue's limits (queues.yaml), highest run priority first, then
   * oldest. A queue's pass stops at the first step its limits still refuse: the ones behind it
   * would be refused too.
   */
  private async admitQueued(): Promise<void> {
    for (const queue of this.options.registry.limitedQueues()) {
      const waiting = await this.db
        .selectFrom('tasks')
        .select(['id', 'run_id'])
        // A literal, to match the partial index tasks_queued.
        .where('status', '=', sql.lit('queued'))
        .where('queue', '=', queue)
        .where('retry_at', '<=', Date.now())
        .orderBy('priority', 'desc')
        .orderBy('created_at')
        .limit(100)
        .execute();
      for (const { id, run_id } of waiting) {
        const admitted = await this.transactOnTask('admit', run_id, id, (t, run, task) =>
          // Gone or cancelled meanwhile: look at the next one.
          !run || !task || task.status !== 'queued'
            ? Promise.resolve(true)
            : t.admitQueued(run, task),
        );
        if (!admitted) break;
      }
    }
  }

  private async retryWaiting(): Promise<void> {
    const due = await this.db
      .selectFrom('tasks')
      .select(['id', 'run_id'])
      .where('status', '=', 'waiting_retry')
      .where('retry_at', '<=', Date.now())
      .limit(500)
      .execute();
    for (const { id, run_id } of due) {
      await this.transactOnTask('retry', run_id, id, async (t, run, task) => {
        if (run && task && task.retry_at !== null && task.retry_at <= t.now)
          await t.retryTask(run, task);
      });
    }
  }

  /** One transaction on a task the sweeper found, with its run locked and the task read again. */
  private transactOnTask<T>(
    kind: string,
    runId: string,
    taskId: string,
    fn: (t: Transition, run: LockedRun | undefined, task: TaskRow | undefined) => Promise<T>,
  ): Promise<T> {
    return this.transact(
      kind,
      async (t) => {
        const run = await t.lockRun(runId);
        const task = await t.trx
          .selectFrom('tasks')
          .selectAll()
          .where('id', '=', taskId)
          .executeTakeFirst();
        return fn(t, run, task);
      },
      runId,
    );
  }

  private async timeouts(): Promise<void> {
    const expired = await this.db
      .selectFrom('tasks')
      .select(['id', 'run_id', 'attempt'])
      .where('status', '=', 'running')
      .where('deadline_at', '<=', Date.now())
      .limit(500)
      .execute();
    for (const { id, run_id, attempt } of expired) {
      await this.transactOnTask('timeout', run_id, id, async (t, run, task) => {
        if (!run || run.row.status !== 'running' || !task) return;
        if (
          task.status === 'running' &&
          task.attempt === attempt &&
          task.deadline_at !== null &&
          task.deadline_at <= t.now
        ) {
          await t.timeoutAttempt(run, task);
        }
      });
    }
  }

  private async runDeadlines(): Promise<void> {
    const expired = await this.db
      .selectFrom('runs')
      .select(['id'])
      .where('status', '=', 'running')
      .where('deadline_at', '<=', Date.now())
      .where('final_status', 'is', null)
      .limit(100)
      .execute();
    for (const { id } of expired) {
      await this.transact(
        'run-timeout',
        async (t) => {
          const run = await t.lockRun(id);
          if (
            !run ||
            run.row.status !== 'running' ||
            run.row.deadline_at === null ||
            run.row.deadline_at > t.now
          )
            return;
          const limit = run.def.timeoutMs ?? 0;
          await t.failRun(run, 'timed_out', {
            message: `workflow ${run.def.name} did not finish within its timeout of ${Math.round(limit / 1000)}s`,
            code: 'WORKFLOW_TIMEOUT',
            retryable: false,
          });
        },
        id,
      );
    }
  }

  /** Requests committed but never confirmed by the broker (crash or broker outage in between). */
  private async republish(): Promise<void> {
    const stale = await this.db
      .selectFrom('tasks')
      .innerJoin('runs', 'runs.id', 'tasks.run_id')
      .selectAll('tasks')
      .select(['runs.workflow as workflow', 'runs.version as workflow_version'])
      // Literals, not parameters: they match the partial index tasks_unconfirmed.
      .where('tasks.published', '=', sql.lit(0))
      .where('tasks.status', '=', sql.lit('running'))
      .where('tasks.kind', '=', 'queue')
      .where('tasks.dispatched_at', '<=', Date.now() - this.options.republishAfterMs)
      .limit(500)
      .execute();
    if (stale.length === 0) return;
    this.options.logger.info(
      { count: stale.length },
      'republishing step requests without a broker confirm',
    );
    const effects: Effect[] = stale.map((task) => ({
      kind: 'dispatch',
      request: buildRequest({ name: task.workflow, version: task.workflow_version }, task, {
        replyTo: this.options.resultsQueue,
        progressTo: this.options.progressQueue,
      }),
    }));
    await this.perform(effects);
  }

  private async redeliverCompletions(): Promise<void> {
    const pending = await this.db
      .selectFrom('runs')
      .select(['id'])
      .where('completion_published', '=', 0)
      .where('status', '!=', 'running')
      .where('finished_at', '<=', Date.now() - 2000)
      .limit(100)
      .execute();
    for (const { id } of pending) await this.deliverCompletion(id);
  }

  /** Moves dead-lettered results into the database (visible in the API) and counts them. */
  private async drainDeadLetters(): Promise<void> {
    for (const queue of [stepResultsQueue(this.options.resultsQueue, this.queueType)]) {
      let letters: DeadLetter[];
      try {
        letters = await this.options.bus.drainDeadLetters(queue, 100);
      } catch (error) {
        this.options.logger.warn({ err: error }, 'reading the dead-letter queue failed');
        return;
      }
      for (const letter of letters) {
        this.options.metrics.deadLetters.inc({ queue: queue.name });
        this.options.logger.error(
          { queue: queue.name, reason: letter.reason, body: logField(letter.body) },
          'a message was dead-lettered',
        );
        await this.db
          .insertInto('dead_letters')
          .values({
            queue: queue.name,
            reason: letter.reason,
            body: typeof letter.body === 'string' ? letter.body : JSON.stringify(letter.body),
            attempts: letter.attempts,
            received_at: Date.now(),
          })
          .execute();
      }
    }
  }
}

function validateInput(
  def: WorkflowDefinition,
  input: unknown,
): readonly { path: string; message: string }[] {
  return def.validateInput ? def.validateInput(input) : [];
}
