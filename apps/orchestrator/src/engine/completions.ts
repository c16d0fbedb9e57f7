import type { Bus, Subscription } from '@conveyor/bus';
import type { RunEvent, StepError } from '@conveyor/contracts';
import { runEventRoutingKey, runEventsTopic } from '@conveyor/worker-sdk';
import type { Logger } from 'pino';
import type { Store } from '../store/database';
import type { RunRow } from './transition';

/** How long delivered completions are collected before they are recorded in one UPDATE. */
const PUBLISHED_FLUSH_MS = 250;

/** How long the subscription to every run event outlives its last SSE listener. */
const LISTEN_LINGER_MS = 30_000;

export interface CompletionsDeps {
  readonly db: Store['db'];
  readonly bus: Bus;
  readonly logger: Logger;
  readonly eventsExchange: string;
  /** Called once this replica receives every run event (the effects then skip none). */
  readonly onHearingEverything: () => void;
}

/**
 * A finished run's way out: its run.completed event and callback (with their outbox flag), the
 * callers waiting for it (waitForRun) and the SSE listeners of every run event (onEvent).
 */
export class Completions {
  private stopped = false;
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly listeners = new Set<(event: RunEvent) => void>();
  /** Runs whose completion went out and is not recorded yet (see markPublished). */
  private readonly publishedPending = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly allEvents: {
    subscription?: Promise<Subscription> | undefined;
    linger?: NodeJS.Timeout;
  } = {};

  constructor(private readonly deps: CompletionsDeps) {}

  /** Ends the subscription to every event; resolves once it is cancelled. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.flushPublished().catch((error: unknown) =>
      this.deps.logger.warn({ err: error }, 'recording delivered completions failed'),
    );
    clearTimeout(this.allEvents.linger);
    const all = this.allEvents.subscription;
    this.allEvents.subscription = undefined;
    await all?.then((s) => s.cancel()).catch(() => undefined);
  }

  /**
   * Publishes the run's run.completed event (and calls its callback), then records that in the
   * outbox flag. `committed`: the row as the completing transaction wrote it, which saves reading
   * it back (a round trip on PostgreSQL, before the event could leave).
   */
  async deliverCompletion(runId: string, committed?: RunRow): Promise<void> {
    const { logger, db } = this.deps;
    if (this.publishedPending.has(runId)) return;
    const run =
      committed ??
      (await db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst());
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
      await this.deps.bus.publishEvent(runEventsTopic(this.deps.eventsExchange), event, {
        routingKey: runEventRoutingKey(event),
        validate: false, // built by typed code from the committed run row
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
    if (delivered && run.completion_attempts === 0) {
      this.markPublished(runId);
      return;
    }
    await db
      .updateTable('runs')
      .set({
        completion_published: delivered ? 1 : 0,
        completion_attempts: run.completion_attempts + 1,
      })
      .where('id', '=', runId)
      .execute();
  }

  /**
   * A first delivery that went out is recorded with others, within PUBLISHED_FLUSH_MS: one UPDATE
   * (one commit) for many runs instead of one per run — per 3-step run, that commit was a third of
   * a commit per step. The sweeper redelivers what is still unrecorded 2 s after the run finished
   * (redeliverCompletions), well after the flush; a crash in between means the event is published
   * again, which at-least-once delivery already allows.
   */
  private markPublished(runId: string): void {
    this.publishedPending.add(runId);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.flushPublished().catch((error: unknown) =>
        this.deps.logger.warn({ err: error }, 'recording delivered completions failed'),
      );
    }, PUBLISHED_FLUSH_MS);
  }

  /** Records the delivered completions collected so far (also on stop). */
  async flushPublished(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const ids = [...this.publishedPending];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      try {
        await this.deps.db
          .updateTable('runs')
          .set((eb) => ({
            completion_published: 1,
            completion_attempts: eb('completion_attempts', '+', 1),
          }))
          .where('id', 'in', chunk)
          .execute();
      } finally {
        // Unrecorded ones are redelivered by the sweeper (their flag is still 0).
        for (const id of chunk) this.publishedPending.delete(id);
      }
    }
  }

  /** See Engine.onEvent. */
  async onEvent(listener: (event: RunEvent) => void): Promise<() => void> {
    this.listeners.add(listener);
    clearTimeout(this.allEvents.linger);
    try {
      this.allEvents.subscription ??= this.deps.bus.subscribe(
        runEventsTopic(this.deps.eventsExchange),
        async (d) => {
          for (const l of this.listeners) l(d.message);
        },
        { pattern: '#', prefetch: 256 },
      );
      await this.allEvents.subscription;
      // This replica now listens to every event: skip none from here on.
      this.deps.onHearingEverything();
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
            this.deps.logger.warn({ err: error }, 'cancelling the event subscription failed'),
          );
      }, LISTEN_LINGER_MS);
    };
  }

  /** Wakes the callers waiting for the run (a run.completed seen from any replica). */
  notifyWaiters(runId: string): void {
    const set = this.waiters.get(runId);
    if (!set) return;
    this.waiters.delete(runId);
    for (const wake of set) wake();
  }

  /** See Engine.waitForRun. */
  async waitForRun(runId: string, timeoutMs: number): Promise<RunRow | undefined> {
    const read = () =>
      this.deps.db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
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
}
