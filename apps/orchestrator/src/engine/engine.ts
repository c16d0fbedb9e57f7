import type { Bus, QueueType } from '@conveyor/bus';
import type { RunEvent, StepProgress, StepResult } from '@conveyor/contracts';
import {
  assertStepQueue,
  DEFAULT_STEP_QUEUE_TYPE,
  runEventsTopic,
  stepProgressQueue,
  stepQueue,
  stepResultsQueue,
} from '@conveyor/worker-sdk';
import type { Logger } from 'pino';
import type { DefinitionRegistry } from '../definitions/registry';
import type { WorkflowDefinition } from '../definitions/model';
import { boundStepResult } from '../limits';
import type { Store } from '../store/database';
import { Completions } from './completions';
import type { Effect } from './effects';
import { EffectsRunner, type StepEvents } from './effects-runner';
import { KeyedMutex } from './keyed-mutex';
import type { EngineMetrics } from './metrics';
import { MAX_HELD_EARLY, RESULTS_PREFETCH, ResultsIntake } from './results-intake';
import { Sweeper } from './sweeper';
import { RETRYABLE_SQLSTATE } from './transact';
import type { RunRow, TransitionDeps } from './transition';
import { Transition } from './transition';

export type { StepEvents } from './effects-runner';

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
  /**
   * Most results that overtook the result recording their step held at once (each keeps one of
   * the results queue's prefetch slots); beyond it they go to the back of the queue. Default
   * MAX_HELD_EARLY (half the prefetch); see results-intake.ts.
   */
  readonly maxHeldEarlyResults?: number;
  /**
   * How long the record of a chain link that changes nothing else may wait to share a later
   * result's transaction (results-intake.ts, chainedOnly); 0: never. Default
   * DEFAULT_CHAINED_RECORD_WAIT_MS.
   */
  readonly chainedRecordWaitMs?: number;
}

/**
 * How long the acks of results, heartbeats and completions wait to leave together (bus
 * ConsumeOptions.ackBatchMs). A result's ack only releases its message from the broker: it is
 * sent after the result's transaction committed and holds up no run, so a few milliseconds more
 * cost nothing but a prefetch slot (~10 of 256 at 2,000 results/s), while one chain step at a
 * time otherwise paid a write system call per ack (~10 % of the orchestrator's CPU per step).
 */
export const ACK_BATCH_MS = 5;

/** Default of EngineOptions.chainLinks: a cancelled run's continued links run out within it. */
export const DEFAULT_CHAIN_LINKS = 16;

export type StartRunResult =
  | { readonly kind: 'started' | 'existing'; readonly run: RunRow }
  | { readonly kind: 'unknown-workflow'; readonly message: string }
  | {
      readonly kind: 'invalid-input';
      readonly message: string;
      readonly issues: readonly { path: string; message: string }[];
    };

/**
 * The orchestrator's engine: consumes results and heartbeats, runs every state change as one
 * transaction (transition/), then performs the transaction's effects. Its parts, by concern:
 * results-intake.ts (holding, queueing and applying results), effects-runner.ts (what a commit
 * asked for), completions.ts (run.completed, callbacks, waiters, SSE) and sweeper.ts (timeouts,
 * due retries, admission, run deadlines, unconfirmed publishes). `transact`, below, is the one
 * place a transaction is opened; the parts receive it.
 */
export class Engine {
  private subscriptions: { cancel(): Promise<void> }[] = [];
  private readonly runMutex = new KeyedMutex();
  private readonly completions: Completions;
  private readonly effects: EffectsRunner;
  private readonly sweeper: Sweeper;
  private readonly intake: ResultsIntake;

  constructor(private readonly options: EngineOptions) {
    const { store, bus, logger, metrics } = options;
    const db = store.db;
    const results = stepResultsQueue(options.resultsQueue, this.queueType);
    const transact = this.transact.bind(this);
    this.completions = new Completions({
      db,
      bus,
      logger,
      eventsExchange: options.eventsExchange,
      onHearingEverything: () => this.effects.hearEverything(),
    });
    this.effects = new EffectsRunner({
      db,
      bus,
      logger,
      metrics,
      queueType: this.queueType,
      eventsExchange: options.eventsExchange,
      stepEvents: options.stepEvents,
      deliverCompletion: (runId, committed) => this.completions.deliverCompletion(runId, committed),
      wakeAt: (at) => this.sweeper.wakeAt(at),
    });
    this.sweeper = new Sweeper({
      db,
      registry: options.registry,
      bus,
      logger,
      metrics,
      resultsQueue: results,
      replyTo: options.resultsQueue,
      progressTo: options.progressQueue,
      sweepIntervalMs: options.sweepIntervalMs,
      republishAfterMs: options.republishAfterMs,
      transact,
      perform: (effects) => this.effects.perform(effects),
      deliverCompletion: (runId) => this.completions.deliverCompletion(runId),
    });
    this.intake = new ResultsIntake({
      dialect: store.dialect,
      bus,
      logger,
      metrics,
      resultsQueue: results,
      maxHeldEarly: options.maxHeldEarlyResults ?? MAX_HELD_EARLY,
      transact,
      ...(options.chainedRecordWaitMs !== undefined
        ? { chainedRecordWaitMs: options.chainedRecordWaitMs }
        : {}),
    });
  }

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
        { prefetch: RESULTS_PREFETCH, ackBatchMs: ACK_BATCH_MS },
      ),
      await bus.consume(progress, (d) => this.onProgress(d.message), {
        prefetch: 64,
        ackBatchMs: ACK_BATCH_MS,
      }),
      // Transient: every replica sees every completion, so waiters on any replica are served.
      // Step events come back to this process only while an SSE client listens (onEvent).
      await bus.subscribe(
        runEventsTopic(this.options.eventsExchange),
        async (d) => this.completions.notifyWaiters(d.message.runId),
        { pattern: 'run.completed.#', prefetch: 256, ackBatchMs: ACK_BATCH_MS },
      ),
    );
    this.sweeper.start();
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
    this.sweeper.stop();
    await Promise.all([...this.subscriptions.map((s) => s.cancel()), this.completions.stop()]);
    this.subscriptions = [];
    await this.sweeper.passUnderWay;
    await this.effects.flushPublished();
    // Completions of the last results handled while the consumers stopped.
    await this.completions.flushPublished();
  }

  // -------------------------------------------------------------------------------------------
  // The transaction boundary

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
    // Arrows passed straight on, not named closures: the build keeps names (esbuild keepNames),
    // and a named closure costs a defineProperty every time it is made (see results-intake.ts).
    const value =
      runId === undefined
        ? await this.commitTransition(kind, fn, effects)
        : await this.runMutex.run(runId, () => this.commitTransition(kind, fn, effects));
    onCommitted?.();
    // Results wake held results themselves, and only when they changed something: two held
    // results of one run must not wake each other in a loop.
    if (runId !== undefined && kind !== 'result') this.intake.wakeCommitWaiters(runId);
    this.options.metrics.transition.observe({ kind }, (performance.now() - started) / 1000);
    await this.effects.perform(effects);
    return value;
  }

  /** transact's transaction: `fn` and its effects, retried on PostgreSQL conflicts. */
  private async commitTransition<T>(
    kind: string,
    fn: (t: Transition) => Promise<T>,
    effects: Effect[],
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.options.store.transaction(async (trx) => {
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
      stepEventWanted: (event, workflow, itemIndex) =>
        this.effects.stepEventWanted(event, workflow, itemIndex),
    };
    return this.deps;
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
    // Its chain links' results may then wait for company from the first (results-intake.ts).
    if (created) this.intake.noteRun(run.id, def);
    return { kind: created ? 'started' : 'existing', run };
  }

  /**
   * Applies a worker's result. Duplicates and late results are counted and dropped.
   *
   * Results of one run that arrive while the run is busy wait together and are applied in one
   * transaction when its turn comes: a fan-out's items then share a commit. On PostgreSQL every
   * commit waits for a WAL flush (fsync), and the run's row lock lets only one commit through at
   * a time, so one commit per item capped a fan-out at ~100 items/s. On SQLite the results of
   * every run wait together (results-intake.ts). A lone result (a chain link on an idle
   * orchestrator) still gets its own transaction at once.
   */
  async onResult(result: StepResult, messageId?: string): Promise<'applied' | string> {
    return this.intake.onResult(result, messageId);
  }

  async onProgress(progress: StepProgress): Promise<void> {
    await this.options.store.transaction(async (trx) => {
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
  // Completions and the sweeper (completions.ts, sweeper.ts)

  /**
   * Every run event seen by this replica (from all replicas), for SSE streams. Resolves once the
   * events are flowing, so a snapshot read afterwards misses nothing. The subscription to every
   * event exists only while someone listens (and a while after: completions.ts): otherwise each
   * step's events would travel back through the broker into this process for nobody, on the hot
   * path's CPU.
   */
  onEvent(listener: (event: RunEvent) => void): Promise<() => void> {
    return this.completions.onEvent(listener);
  }

  /** Resolves when the run has finished or after `timeoutMs`, with the run row either way. */
  waitForRun(runId: string, timeoutMs: number): Promise<RunRow | undefined> {
    return this.completions.waitForRun(runId, timeoutMs);
  }

  /** One sweeper pass; public so that tests and benchmarks can drive it deterministically. */
  sweep(): Promise<void> {
    return this.sweeper.sweep();
  }
}

function validateInput(
  def: WorkflowDefinition,
  input: unknown,
): readonly { path: string; message: string }[] {
  return def.validateInput ? def.validateInput(input) : [];
}
