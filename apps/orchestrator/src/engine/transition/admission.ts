import { sql } from 'kysely';
import type { QueueLimits } from '../../definitions/model';
import type { TaskRow, TransitionState } from './state';

// Queue limits (queues.yaml: maxInFlight, ratePerSecond, burst) enforced where every replica
// sees the same state: the database. Admitting a step locks its queue's row, so two replicas
// cannot both take the last slot, and counts the queue's running tasks rather than keeping a
// counter that a crash could leave wrong. A step that is not admitted waits as `queued`; steps
// of higher priority, then older ones, are admitted first (Sweeper.admitQueued, sweeper.ts).

export type Verdict =
  | { readonly admitted: true }
  | {
      readonly admitted: false;
      readonly reason: string;
      /** When a token will be there (rate limit); undefined: when a step of the queue ends. */
      readonly retryAt: number | undefined;
    };

const ADMITTED: Verdict = { admitted: true };

/** The queue's limits, when it has any. */
export function limitsOf(tx: TransitionState, queue: string | null): QueueLimits | undefined {
  return queue === null ? undefined : tx.deps.registry.queueLimits(queue);
}

/**
 * Decides, in order, which of `tasks` (all to be dispatched now) may go: each admitted one takes
 * a slot and a token. Once one task of a queue is refused, the later ones of that queue are too
 * (same reason), so a fan-out's items keep their order.
 */
export async function admitAll(tx: TransitionState, tasks: readonly TaskRow[]): Promise<Verdict[]> {
  const state = new Map<string, QueueState>();
  const verdicts: Verdict[] = [];
  for (const task of tasks) {
    const limits = limitsOf(tx, task.queue);
    if (!limits || task.queue === null) {
      verdicts.push(ADMITTED);
      continue;
    }
    let queue = state.get(task.queue);
    if (!queue) state.set(task.queue, (queue = await openQueue(tx, task.queue, limits)));
    verdicts.push(await queue.admit(task));
  }
  for (const queue of state.values()) await queue.save();
  return verdicts;
}

interface QueueState {
  admit(task: TaskRow): Promise<Verdict>;
  /** Writes the bucket back (tokens taken). */
  save(): Promise<void>;
}

async function openQueue(
  tx: TransitionState,
  queue: string,
  limits: QueueLimits,
): Promise<QueueState> {
  await tx.trx
    .insertInto('queue_buckets')
    .values({ queue, tokens: limits.burst, refilled_at: tx.now })
    .onConflict((oc) => oc.column('queue').doNothing())
    .execute();
  let bucketQuery = tx.trx.selectFrom('queue_buckets').selectAll().where('queue', '=', queue);
  // The row lock that serialises admissions to this queue across replicas (SQLite already runs
  // one write transaction at a time).
  if (tx.deps.dialect === 'postgres') bucketQuery = bucketQuery.forUpdate();
  const bucket = await bucketQuery.executeTakeFirstOrThrow();
  let tokens =
    limits.ratePerSecond === undefined
      ? Infinity
      : Math.min(
          limits.burst,
          bucket.tokens + ((tx.now - bucket.refilled_at) * limits.ratePerSecond) / 1000,
        );
  let inFlight: number | undefined;
  let refused: Verdict | undefined;
  let taken = 0;

  return {
    async admit(task) {
      if (refused) return refused;
      // Steps that wait already go first: higher priority, then older.
      const ahead = await tx.trx
        .selectFrom('tasks')
        .select('id')
        .where('status', '=', sql.lit('queued'))
        .where('queue', '=', queue)
        .where('id', '!=', task.id)
        .where((eb) =>
          eb.or([
            eb('priority', '>', task.priority),
            eb.and([eb('priority', '=', task.priority), eb('created_at', '<', task.created_at)]),
          ]),
        )
        .limit(1)
        .executeTakeFirst();
      if (ahead) {
        refused = {
          admitted: false,
          reason: `waiting for queue ${queue}: steps queued earlier or with a higher priority go first`,
          retryAt: undefined,
        };
        return refused;
      }
      if (limits.maxInFlight !== undefined) {
        if (inFlight === undefined) {
          // `deadline_at IS NOT NULL` keeps the count on the partial index of running tasks.
          const row = await tx.trx
            .selectFrom('tasks')
            .select(sql<number>`count(*)`.as('n'))
            .where('deadline_at', 'is not', null)
            .where('status', '=', 'running')
            .where('queue', '=', queue)
            .executeTakeFirstOrThrow();
          inFlight = Number(row.n);
        }
        if (inFlight >= limits.maxInFlight) {
          refused = {
            admitted: false,
            reason: `waiting for queue ${queue}: ${inFlight} steps in flight, its maxInFlight is ${limits.maxInFlight}`,
            retryAt: undefined,
          };
          return refused;
        }
      }
      if (limits.ratePerSecond !== undefined && tokens < 1) {
        refused = {
          admitted: false,
          reason: `waiting for queue ${queue}: its ratePerSecond is ${limits.ratePerSecond}`,
          retryAt: tx.now + Math.ceil(((1 - tokens) * 1000) / limits.ratePerSecond),
        };
        return refused;
      }
      tokens -= 1;
      taken++;
      if (inFlight !== undefined) inFlight++;
      return ADMITTED;
    },
    async save() {
      if (limits.ratePerSecond === undefined || taken === 0) return;
      await tx.trx
        .updateTable('queue_buckets')
        .set({ tokens, refilled_at: tx.now })
        .where('queue', '=', queue)
        .execute();
    },
  };
}
