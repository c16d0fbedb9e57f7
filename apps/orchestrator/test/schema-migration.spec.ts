import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { Pool } from 'pg';
import { runDetail } from '../src/api/run-view';
import { openStore } from '../src/store/database';
import { postgresStore } from './harness';

describe('schema migration: attempts lose their run index', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orch-schema-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('drops it from an existing SQLite database; its attempts stay and the run view shows them', async () => {
    const file = join(dir, 'old.sqlite');
    // A database as earlier versions left it: every table, and attempts indexed by run.
    await (await openStore({ kind: 'sqlite', file })).close();
    const raw = new BetterSqlite3(file);
    raw.exec('CREATE INDEX "attempts_run" on "attempts" ("run_id")');
    const now = Date.now();
    raw
      .prepare(
        `INSERT INTO runs (id, workflow, version, status, input, created_at, priority)
         VALUES ('run-a', 'w', 1, 'succeeded', 'null', ?, 0)`,
      )
      .run(now);
    raw
      .prepare(
        `INSERT INTO tasks (id, run_id, step, item_index, kind, status, attempt, max_attempts,
           queue, timeout_ms, input, created_at, published, priority)
         VALUES ('3f0d6c2e-8a7b-4c1d-9e2f-000000000001', 'run-a', 's', -1, 'queue', 'succeeded',
           2, 3, 'q', 1000, 'null', ?, 1, 0)`,
      )
      .run(now);
    const insert = raw.prepare(
      `INSERT INTO attempts (task_id, attempt, run_id, status, dispatched_at, finished_at, error, worker_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    insert.run(
      '3f0d6c2e-8a7b-4c1d-9e2f-000000000001',
      1,
      'run-a',
      'failed',
      10,
      20,
      '{"message":"x","retryable":true}',
      'w1',
    );
    insert.run('3f0d6c2e-8a7b-4c1d-9e2f-000000000001', 2, 'run-a', 'succeeded', 30, 40, null, 'w2');
    raw.close();

    for (let open = 1; open <= 2; open++) {
      const store = await openStore({ kind: 'sqlite', file });
      try {
        const indexes = await sql<{
          name: string;
        }>`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'attempts'`.execute(
          store.db,
        );
        // Only the primary key's own index is left.
        expect(indexes.rows.map((r) => r.name)).toEqual(['sqlite_autoindex_attempts_1']);
        const detail = await runDetail(store.db, 'run-a');
        expect(detail?.steps[0]?.attempts).toMatchObject([
          { attempt: 1, status: 'failed', workerId: 'w1', durationMs: 10, error: { message: 'x' } },
          { attempt: 2, status: 'succeeded', workerId: 'w2', durationMs: 10, error: null },
        ]);
      } finally {
        await store.close();
      }
    }
  });

  it('drops the run index of an existing PostgreSQL schema and keeps its attempts', async () => {
    const pg = postgresStore();
    const config = pg.store as Extract<typeof pg.store, { kind: 'postgres' }>;
    try {
      await (await openStore(config)).close();
      const pool = new Pool({ connectionString: config.url, max: 1 });
      try {
        await pool.query(`SET search_path = ${config.schema}`);
        await pool.query('CREATE INDEX attempts_run ON attempts (run_id)');
        await pool.query(
          `INSERT INTO attempts (task_id, attempt, run_id, status, dispatched_at) VALUES ('t1', 1, 'r1', 'running', 5)`,
        );
      } finally {
        await pool.end();
      }
      const store = await openStore(config);
      try {
        const indexes = await sql<{
          indexname: string;
        }>`SELECT indexname FROM pg_indexes WHERE schemaname = ${config.schema} AND tablename = 'attempts'`.execute(
          store.db,
        );
        expect(indexes.rows.map((r) => r.indexname)).toEqual(['attempts_pk']);
        const kept = await store.db.selectFrom('attempts').select(['task_id', 'run_id']).execute();
        expect(kept).toEqual([{ task_id: 't1', run_id: 'r1' }]);
      } finally {
        await store.close();
      }
    } finally {
      await pg.cleanup();
    }
  });
});
