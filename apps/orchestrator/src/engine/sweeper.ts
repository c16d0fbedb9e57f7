import type { Bus, DeadLetter, QueueDefinition } from '@conveyor/bus';
import type { StepResult } from '@conveyor/contracts';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { DefinitionRegistry } from '../definitions/registry';
import { logField } from '../limits';
import type { Store } from '../store/database';
import type { Effect } from './effects';
import type { EngineMetrics } from './metrics';
import type { Transact } from './transact';
import type { LockedRun, TaskRow, Transition } from './transition';
import { buildRequest } from './transition';

export interface SweeperDeps {
  readonly db: Store['db'];
  readonly registry: DefinitionRegistry;
  readonly bus: Bus;
  readonly logger: Logger;
  readonly metrics: EngineMetrics;
  readonly resultsQueue: QueueDefinition<StepResult>;
  /** Names step requests' replyTo and progressTo when they are republished. */
  readonly replyTo: string;
  readonly progressTo: string;
  readonly sweepIntervalMs: number;
  readonly republishAfterMs: number;
  /** The engine's transaction boundary (engine.ts). */
  readonly transact: Transact;
  /** Performs effects outside any transaction (effects-runner.ts). */
  readonly perform: (effects: readonly Effect[]) => Promise<void>;
  /** Publishes a finished run's completion (completions.ts). */
  readonly deliverCompletion: (runId: string) => Promise<void>;
}

/**
 * What no message announces: due retries, steps admitted by their queue's limits, timeouts, run
 * deadlines, requests never confirmed by the broker, undelivered completions and dead letters.
 * A pass runs every sweepIntervalMs, and a retry's wake effect brings the retry pass forward.
 */
export class Sweeper {
  private sweepTimer: NodeJS.Timeout | undefined;
  private wakeTimer: { at: number; timer: NodeJS.Timeout } | undefined;
  private sweeping: Promise<void> | undefined;
  private stopped = false;
  private sweepCount = 0;

  constructor(private readonly deps: SweeperDeps) {}

  /** Starts the periodic passes, the first one at once. */
  start(): void {
    this.scheduleSweep(0);
  }

  /** No pass starts from now on; `passUnderWay` is the one still running, if any. */
  stop(): void {
    this.stopped = true;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer.timer);
  }

  get passUnderWay(): Promise<void> | undefined {
    return this.sweeping;
  }

  private scheduleSweep(delay: number): void {
    if (this.stopped) return;
    this.sweepTimer = setTimeout(() => {
      this.sweeping = this.sweep()
        .catch((error: unknown) => this.deps.logger.error({ err: error }, 'sweep failed'))
        .finally(() => {
          this.sweeping = undefined;
          this.scheduleSweep(this.deps.sweepIntervalMs);
        });
    }, delay);
  }

  /** Runs the retry pass at `at` (a wake effect), unless one is already due earlier. */
  wakeAt(at: number): void {
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
          .catch((error: unknown) => this.deps.logger.error({ err: error }, 'retry sweep failed'))
          .finally(() => (this.sweeping = undefined));
      },
      Math.max(0, at - Date.now()),
    );
    this.wakeTimer = { at, timer };
  }

  /** One pass (Engine.sweep). */
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
    for (const queue of this.deps.registry.limitedQueues()) {
      const waiting = await this.deps.db
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
    const due = await this.deps.db
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
    return this.deps.transact(
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
    const expired = await this.deps.db
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
    const expired = await this.deps.db
      .selectFrom('runs')
      .select(['id'])
      .where('status', '=', 'running')
      .where('deadline_at', '<=', Date.now())
      .where('final_status', 'is', null)
      .limit(100)
      .execute();
    for (const { id } of expired) {
      await this.deps.transact(
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
    const stale = await this.deps.db
      .selectFrom('tasks')
      .innerJoin('runs', 'runs.id', 'tasks.run_id')
      .selectAll('tasks')
      .select(['runs.workflow as workflow', 'runs.version as workflow_version'])
      // Literals, not parameters: they match the partial index tasks_unconfirmed.
      .where('tasks.published', '=', sql.lit(0))
      .where('tasks.status', '=', sql.lit('running'))
      .where('tasks.kind', '=', 'queue')
      .where('tasks.dispatched_at', '<=', Date.now() - this.deps.republishAfterMs)
      .limit(500)
      .execute();
    if (stale.length === 0) return;
    this.deps.logger.info(
      { count: stale.length },
      'republishing step requests without a broker confirm',
    );
    const effects: Effect[] = stale.map((task) => ({
      kind: 'dispatch',
      request: buildRequest({ name: task.workflow, version: task.workflow_version }, task, {
        replyTo: this.deps.replyTo,
        progressTo: this.deps.progressTo,
      }),
    }));
    await this.deps.perform(effects);
  }

  private async redeliverCompletions(): Promise<void> {
    const pending = await this.deps.db
      .selectFrom('runs')
      .select(['id'])
      .where('completion_published', '=', 0)
      .where('status', '!=', 'running')
      .where('finished_at', '<=', Date.now() - 2000)
      .limit(100)
      .execute();
    for (const { id } of pending) await this.deps.deliverCompletion(id);
  }

  /** Moves dead-lettered results into the database (visible in the API) and counts them. */
  private async drainDeadLetters(): Promise<void> {
    for (const queue of [this.deps.resultsQueue]) {
      let letters: DeadLetter[];
      try {
        letters = await this.deps.bus.drainDeadLetters(queue, 100);
      } catch (error) {
        this.deps.logger.warn({ err: error }, 'reading the dead-letter queue failed');
        return;
      }
      for (const letter of letters) {
        this.deps.metrics.deadLetters.inc({ queue: queue.name });
        this.deps.logger.error(
          { queue: queue.name, reason: letter.reason, body: logField(letter.body) },
          'a message was dead-lettered',
        );
        await this.deps.db
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
