import { Pool, type PoolClient } from 'pg';
import { openStore, type Store } from '../src/store/database';
import { growthLevel } from '../src/store/table-statistics';
import { PG_URL, postgresStore } from './harness';

jest.setTimeout(60_000);

describe('growthLevel', () => {
  it('steps once for every fourfold growth of a table (pages of 8 KiB)', () => {
    expect([0, 8192, 3 * 8192, 4 * 8192, 15 * 8192, 16 * 8192, 64 * 8192].map(growthLevel)).toEqual(
      [0, 0, 0, 1, 1, 2, 3],
    );
  });
});

/**
 * The success statement of the hot path (transition/results.ts), as a named prepared statement
 * with a generic plan: what PostgreSQL reuses once it has decided a generic plan will do.
 */
const SUCCEED = `UPDATE tasks SET status = 'succeeded', finished_at = $1
  WHERE id = $2 AND run_id = $3 AND kind = 'queue' AND attempt = $4 AND status = 'running'`;

async function planOf(client: PoolClient): Promise<string> {
  const { rows } = await client.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN EXECUTE succeed(1, 'x', 'run-0', 1)`,
  );
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

describe('planner statistics while the tables grow (PostgreSQL)', () => {
  let pg: ReturnType<typeof postgresStore>;
  let store: Store;
  let pool: Pool;

  beforeAll(async () => {
    pg = postgresStore();
    store = await openStore(pg.store);
    const schema = pg.store.kind === 'postgres' ? pg.store.schema : undefined;
    pool = new Pool({ connectionString: PG_URL, max: 1, options: `-c search_path=${schema}` });
  });

  afterAll(async () => {
    await pool.end();
    await store.close();
    await pg.cleanup();
  });

  it('analyses a table that grew fourfold, so a plan made while it was tiny is made again', async () => {
    const statistics = store.tableStatistics;
    if (!statistics) throw new Error('a PostgreSQL store keeps table statistics');
    const client = await pool.connect();
    try {
      // A generic plan made now, on empty tables, as a connection of the orchestrator makes it.
      await client.query('SET plan_cache_mode = force_generic_plan');
      await client.query(`PREPARE succeed(bigint, text, text, integer) AS ${SUCCEED}`);
      await planOf(client);
      // One run of 20,000 tasks: a 20,000-item fan-out.
      await client.query(
        `INSERT INTO tasks (id, run_id, step, item_index, kind, status, attempt, max_attempts,
           timeout_ms, created_at)
         SELECT 'task-' || i, 'run-0', 'items', i, 'queue', 'running', 1, 3, 60000, 0
         FROM generate_series(1, 20000) AS i`,
      );
      const before = statistics.analysed();
      await statistics.poll();
      expect(statistics.analysed()).toBeGreaterThan(before);
      // The planner reads pg_statistic (pg_stats), which ANALYZE fills at once; the statistics
      // collector's analyze_count reports with a delay, so it proves nothing here.
      const { rows: stats } = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stats WHERE tablename = 'tasks' AND schemaname = current_schema()`,
      );
      expect(Number(stats[0]?.n)).toBeGreaterThan(0);
      // The cached plan was invalidated: the one made now looks the task up by its key, where
      // one made on the empty table could go through any index that names run_id or status.
      expect(await planOf(client)).toMatch(/tasks_pkey/);
    } finally {
      await client.query('DEALLOCATE ALL').catch(() => undefined);
      client.release();
    }
  });

  it('does not analyse tables that did not grow', async () => {
    const statistics = store.tableStatistics;
    if (!statistics) throw new Error('a PostgreSQL store keeps table statistics');
    await statistics.poll();
    const after = statistics.analysed();
    await statistics.poll();
    expect(statistics.analysed()).toBe(after);
  });
});
