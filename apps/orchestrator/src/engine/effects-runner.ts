import type { Bus, QueueType } from '@conveyor/bus';
import type { RunEvent } from '@conveyor/contracts';
import { runEventKey, runEventRoutingKey, runEventsTopic, stepQueue } from '@conveyor/worker-sdk';
import type { Logger } from 'pino';
import type { Store } from '../store/database';
import type { Effect } from './effects';
import type { RunRow } from './transition/state';
import type { EngineMetrics } from './metrics';
import { RETRYABLE_SQLSTATE } from './transact';

/**
 * How long step events of one routing key are skipped after the broker returned one unrouted
 * (nobody bound to receive it). Each costs a confirmed publish — a third of a chain link's
 * orchestrator CPU — so they go out only while someone listens: an SSE stream on any replica,
 * a dashboard's binding. A new listener elsewhere gets them within this delay.
 */
const UNHEARD_RECHECK_MS = 1000;

/** How long publish confirms are collected before they are recorded in one UPDATE. */
const PUBLISHED_FLUSH_MS = 1000;

export type StepEvents = 'all' | 'steps' | 'none';

export interface EffectsRunnerDeps {
  readonly db: Store['db'];
  readonly bus: Bus;
  readonly logger: Logger;
  readonly metrics: EngineMetrics;
  readonly queueType: QueueType;
  readonly eventsExchange: string;
  readonly stepEvents: StepEvents;
  /** Publishes a finished run's completion (completions.ts). */
  readonly deliverCompletion: (runId: string, committed?: RunRow) => Promise<void>;
  /** Wakes the sweeper at `at` (sweeper.ts). */
  readonly wakeAt: (at: number) => void;
}

/**
 * Performs what a committed transaction asked for (effects.ts): step requests, events,
 * completions, sweeper wake-ups; and records the broker's confirms of step requests in batches
 * (the outbox flag the sweeper's republish pass reads).
 */
export class EffectsRunner {
  private readonly pendingPublished = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  /** Step-event routing keys nobody was bound to, and until when they are skipped (ms). */
  private readonly unheardUntil = new Map<string, number>();

  constructor(private readonly deps: EffectsRunnerDeps) {}

  async perform(effects: readonly Effect[]): Promise<void> {
    const { bus, logger } = this.deps;
    if (this.skippedBeforehand > 0) {
      this.deps.metrics.stepEventsSkipped.inc(this.skippedBeforehand);
      this.skippedBeforehand = 0;
    }
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
              .publish(stepQueue(request.queue, this.deps.queueType), request, {
                messageId: `${request.taskId}:${request.attempt}`,
                correlationId: request.runId,
                // Built by the engine's typed code (the input was validated where it came in).
                validate: false,
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
          work.push(this.deps.deliverCompletion(effect.runId, effect.run));
          break;
        case 'wake':
          this.deps.wakeAt(effect.at);
          break;
      }
    }
    await Promise.all(work);
  }

  /** This replica now listens to every event (completions.ts): skip none from here on. */
  hearEverything(): void {
    this.unheardUntil.clear();
  }

  private wantsEvent(event: RunEvent): boolean {
    if (event.event === 'run.started' || event.event === 'run.completed') return true;
    return this.modeWants('itemIndex' in event ? event.itemIndex : undefined);
  }

  /** STEP_EVENTS: 'all', 'steps' (not those of fan-out items, itemIndex ≥ 0) or 'none'. */
  private modeWants(itemIndex: number | undefined): boolean {
    const mode = this.deps.stepEvents;
    return mode === 'all' || (mode === 'steps' && (itemIndex === undefined || itemIndex < 0));
  }

  /** The broker returned a step event with this key unrouted within UNHEARD_RECHECK_MS. */
  private unheard(routingKey: string): boolean {
    const until = this.unheardUntil.get(routingKey);
    return until !== undefined && until > Date.now();
  }

  /** Step events skipped by stepEventWanted, added to the metric with the next perform(). */
  private skippedBeforehand = 0;

  /**
   * Whether a step event would be published now (TransitionDeps.stepEventWanted): a transaction
   * asks before it builds one, so the two step events of every step are not made, queued and
   * dropped here while nobody listens (the common case). The rules of perform and publishEvent:
   * the mode, and a routing key the broker returned unrouted within UNHEARD_RECHECK_MS; past
   * that the next one goes out again to find out.
   */
  stepEventWanted(event: string, workflow: string, itemIndex: number | undefined): boolean {
    if (!this.modeWants(itemIndex)) return false;
    if (!this.unheard(runEventKey(event, workflow))) return true;
    this.skippedBeforehand++;
    return false;
  }

  private publishEvent(event: RunEvent): void {
    const routingKey = runEventRoutingKey(event);
    const stepEvent = event.event !== 'run.started' && event.event !== 'run.completed';
    if (stepEvent) {
      if (this.unheard(routingKey)) {
        this.deps.metrics.stepEventsSkipped.inc();
        return;
      }
      this.unheardUntil.delete(routingKey);
    }
    // Best effort for step events (the database is the record); the completion has an outbox.
    this.deps.bus
      .publishEvent(runEventsTopic(this.deps.eventsExchange), event, {
        routingKey,
        validate: false, // built by the engine's typed code
        ...(stepEvent
          ? {
              onUnroutable: () =>
                this.unheardUntil.set(routingKey, Date.now() + UNHEARD_RECHECK_MS),
            }
          : {}),
      })
      .catch((error: unknown) =>
        this.deps.logger.warn({ err: error, event: event.event }, 'publishing a run event failed'),
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
        this.deps.logger.warn({ err: error }, 'recording publish confirms failed'),
      );
    }, PUBLISHED_FLUSH_MS);
  }

  /** Records the confirms collected so far now (also on stop). */
  async flushPublished(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    if (this.pendingPublished.size === 0) return;
    const ids = [...this.pendingPublished];
    this.pendingPublished.clear();
    for (let i = 0; i < ids.length; i += 500) {
      const update = () =>
        this.deps.db
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
}
