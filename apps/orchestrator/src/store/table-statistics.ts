import type { Pool } from 'pg';
import type { Logger } from 'pino';

/**
 * PostgreSQL: fresh planner statistics for the engine's tables while they are young.
 *
 * The hot path's statements are named prepared statements (statements.ts), so PostgreSQL may
 * plan one once and reuse that generic plan on the connection. A plan made while a table is a
 * few pages long, before autovacuum has analysed it (it waits for 50 rows + 10 % and runs once a
 * minute), cannot tell its indexes apart: the measured result was a task's success looked up
 * through the (run_id, …) index and a run's completion through the status index — every task of
 * a 10,000-item fan-out read for each item (236 items/s instead of 1,856). Custom plans for every
 * execution (`plan_cache_mode=force_custom_plan`, what the orchestrator did before) avoid it but
 * cost PostgreSQL a planning per statement: 35–50 % of its CPU per chained step.
 *
 * So the tables are analysed here each time one has grown fourfold (a few pages, then 16, 64…):
 * ANALYZE invalidates the cached plans that read the table, and the next ones are made with
 * statistics that fit. A dozen analyses take a table to a gigabyte; after that autovacuum's own
 * thresholds come first. Each replica watches on its own; an ANALYZE another one runs at the
 * same time waits for it (their locks conflict with each other only, not with reads or writes).
 */

/** The tables the engine's statements read (store/tables.ts). */
export const ANALYSED_TABLES = ['runs', 'tasks', 'attempts'] as const;

/** How often table sizes are read: one catalog query, answered from the file sizes. */
export const STATISTICS_POLL_MS = 1000;

const PAGE_BYTES = 8192;

/** 0 for a table of up to 3 pages, then one more for every fourfold growth. */
export function growthLevel(bytes: number): number {
  return Math.floor(Math.log(Math.max(1, bytes / PAGE_BYTES)) / Math.log(4));
}

export interface TableStatistics {
  /** Tables analysed here so far (for /debug/vars and tests). */
  readonly analysed: () => number;
  /** One poll now (tests); resolves once its ANALYZE, if any, is done. */
  poll(): Promise<void>;
  stop(): Promise<void>;
}

export function keepTableStatisticsFresh(
  pool: Pool,
  options: { readonly intervalMs?: number; readonly logger?: Logger } = {},
): TableStatistics {
  const levels = new Map<string, number>();
  let analysed = 0;
  let failedOnce = false;
  let under: Promise<void> = Promise.resolve();
  let stopped = false;

  const once = async (): Promise<void> => {
    const { rows } = await pool.query<{ table: string; bytes: number }>(
      `SELECT relname AS table, pg_relation_size(oid) AS bytes FROM pg_class
        WHERE oid IN (${ANALYSED_TABLES.map((t) => `'${t}'::regclass`).join(', ')})`,
    );
    const grown: string[] = [];
    for (const { table, bytes } of rows) {
      const level = growthLevel(Number(bytes));
      const before = levels.get(table);
      // The first reading is where the tables stand (autovacuum has analysed an old database).
      if (before !== undefined && level > before) grown.push(table);
      levels.set(table, Math.max(level, before ?? 0));
    }
    if (grown.length === 0 || stopped) return;
    await pool.query(`ANALYZE ${grown.join(', ')}`);
    analysed += grown.length;
    options.logger?.debug({ tables: grown }, 'analysed tables that grew fourfold');
  };

  const poll = (): Promise<void> => {
    under = under.then(once).catch((error: unknown) => {
      // Not the owner, a lost connection…: the statements still work, only their plans may age.
      if (!failedOnce)
        options.logger?.warn(
          { err: error },
          'could not refresh the planner statistics of the orchestrator tables; PostgreSQL autovacuum will',
        );
      failedOnce = true;
    });
    return under;
  };

  const timer = setInterval(() => void poll(), options.intervalMs ?? STATISTICS_POLL_MS);
  timer.unref();
  return {
    analysed: () => analysed,
    poll,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await under;
    },
  };
}
