import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, sql, SqliteDialect, type Transaction } from 'kysely';
import { Pool, types } from 'pg';
import type { Logger } from 'pino';
import { postgresStatements, sqliteStatements, type Statements } from './statements';
import type { Database } from './tables';
import { keepTableStatisticsFresh, type TableStatistics } from './table-statistics';
import type { CheckpointStats } from './wal-checkpointer';
import { startWalCheckpointer } from './wal-checkpointer';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** The hot path's plain SQL (statements.ts), on the same connections as `db`. */
  readonly statements: Statements;
  /**
   * Runs `fn` in one transaction (committed if it resolves, rolled back if it throws). The
   * engine's transitions go through here rather than `db.transaction()`: on SQLite it opens and
   * commits with prepared statements of its own (see sqliteTransaction).
   */
  transaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  /** A short description for logs and /debug/vars (no password). */
  readonly describe: string;
  /** SQLite file databases: what the WAL checkpoint thread has done (see wal-checkpointer.ts). */
  readonly walCheckpoints?: () => CheckpointStats;
  /** PostgreSQL: the planner statistics kept fresh while the tables grow (table-statistics.ts). */
  readonly tableStatistics?: TableStatistics;
  close(): Promise<void>;
}

export type StoreConfig =
  | { readonly kind: 'sqlite'; readonly file: string }
  | {
      readonly kind: 'postgres';
      readonly url: string;
      readonly schema?: string;
      readonly poolSize?: number;
    };

/** Opens the database and creates the tables (idempotent). */
export async function openStore(
  config: StoreConfig,
  options: { logger?: Logger } = {},
): Promise<Store> {
  if (config.kind === 'sqlite') {
    if (config.file !== ':memory:') mkdirSync(dirname(config.file), { recursive: true });
    const sqlite = new BetterSqlite3(config.file);
    // WAL + NORMAL: durable across process crashes (not power loss), far fewer fsyncs per commit.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    // 32 MiB of page cache (default 2 MiB): the hot pages of a busy database stay in memory.
    sqlite.pragma('cache_size = -32768');
    const cached = cachingStatements(sqlite);
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cached }) });
    await migrate(db, 'sqlite');
    const statements = sqliteStatements(cached);
    const transaction = sqliteTransaction(db, sqlite);
    if (config.file === ':memory:')
      return {
        db,
        dialect: 'sqlite',
        statements,
        transaction,
        describe: 'sqlite::memory:',
        close: () => db.destroy(),
      };
    const checkpointer = startWalCheckpointer(sqlite, config.file, options);
    return {
      db,
      dialect: 'sqlite',
      statements,
      transaction,
      describe: `sqlite:${config.file}`,
      walCheckpoints: () => checkpointer.stats(),
      close: async () => {
        await checkpointer.stop();
        await db.destroy();
      },
    };
  }
  const schema = config.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(
      `invalid PostgreSQL schema name ${JSON.stringify(schema)}: use lower-case letters, digits and _`,
    );
  }
  const pool = new Pool({
    connectionString: config.url,
    max: config.poolSize ?? 10,
    // The hot path's statements are named prepared statements (statements.ts): parsed once per
    // connection, and planned once when PostgreSQL finds a generic plan as good as custom ones.
    // Their plans stay right as the tables grow because table-statistics.ts analyses them.
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
    // bigint columns hold epoch milliseconds, which fit a JS number exactly.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === 20
          ? (v: string) => Number(v)
          : types.getTypeParser(oid, format as 'text')) as typeof types.getTypeParser,
    },
  });
  if (schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await migrate(db, 'postgres');
  const statistics = keepTableStatisticsFresh(pool, options);
  await statistics.poll();
  const url = new URL(config.url);
  url.password = '';
  return {
    db,
    dialect: 'postgres',
    statements: postgresStatements(),
    transaction: (fn) => db.transaction().execute(fn),
    describe: `${url.toString()}${schema ? ` schema=${schema}` : ''}`,
    tableStatistics: statistics,
    close: async () => {
      await statistics.stop();
      await db.destroy();
    },
  };
}

/**
 * A transaction on SQLite's one connection, begun and committed with prepared statements held
 * here. Kysely's `transaction()` builds, compiles and prepares its BEGIN and COMMIT (and a new
 * Kysely instance) for every transaction: ~5 % of the orchestrator's CPU on a chain of no-op steps.
 * The executor's `provideConnection` still takes kysely's connection lock, so no other query
 * through `db` (the API, the sweeper, confirms being recorded) runs inside this transaction.
 *
 * The queries the engine runs through the handed-over instance go to the same connection: that
 * instance is made once, by `db.connection()`, and kept. SQLite's driver has one connection, the
 * same object for every acquire, so the instance stays bound to it; it bypasses the lock, which
 * is why it is used only while provideConnection holds it. (`db.connection()` for every
 * transaction made a ConnectionBuilder, an executor and a frozen Kysely each time: ~2 % of the
 * orchestrator's CPU per step of a chain.)
 */
function sqliteTransaction(
  db: Kysely<Database>,
  sqlite: BetterSqlite3.Database,
): Store['transaction'] {
  const begin = sqlite.prepare('BEGIN');
  const commit = sqlite.prepare('COMMIT');
  const rollback = sqlite.prepare('ROLLBACK');
  const executor = db.getExecutor();
  let bound: { readonly connection: unknown; readonly db: Kysely<Database> } | undefined;
  return async (fn) => {
    bound ??= await db.connection().execute(async (conn) => ({
      connection: await conn.getExecutor().provideConnection(async (c) => c),
      db: conn,
    }));
    const held = bound;
    return executor.provideConnection(async (connection) => {
      if (connection !== held.connection)
        throw new Error(
          'SQLite driver handed out a second connection: the bound instance is stale',
        );
      begin.run();
      try {
        // For the engine's queries it is what a kysely Transaction would be (nested
        // transactions are never opened).
        const value = await fn(held.db as Transaction<Database>);
        commit.run();
        return value;
      } catch (error) {
        // A failed COMMIT (e.g. SQLITE_BUSY) may leave the transaction open: close it either way.
        if (sqlite.inTransaction) rollback.run();
        throw error;
      }
    });
  };
}

/**
 * Kysely's SQLite driver prepares every query anew; the engine runs the same few statements for
 * every transition, and preparing was ~10 % of the orchestrator's CPU in the benchmark profile.
 */
function cachingStatements(sqlite: BetterSqlite3.Database, max = 500) {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(query: string) {
      let statement = cache.get(query);
      if (!statement) {
        statement = sqlite.prepare(query);
        // Statements with IN (…) lists vary in length; keep the cache bounded (oldest out).
        if (cache.size >= max) cache.delete(cache.keys().next().value ?? '');
        cache.set(query, statement);
      }
      return statement;
    },
  } as unknown as BetterSqlite3.Database & {
    prepare(query: string): BetterSqlite3.Statement;
  };
}

async function migrate(db: Kysely<Database>, dialect: Dialect): Promise<void> {
  const ms = dialect === 'postgres' ? 'bigint' : 'integer';
  // Concurrent replicas may migrate at once; an advisory lock keeps CREATE … IF NOT EXISTS safe.
  await db.transaction().execute(async (trx) => {
    if (dialect === 'postgres') await sql`SELECT pg_advisory_xact_lock(72001)`.execute(trx);
    await trx.schema
      .createTable('workflow_definitions')
      .ifNotExists()
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('file', 'text', (c) => c.notNull())
      .addColumn('registered_at', ms, (c) => c.notNull())
      .addPrimaryKeyConstraint('workflow_definitions_pk', ['name', 'version'])
      .execute();
    await trx.schema
      .createTable('runs')
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('workflow', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('input', 'text', (c) => c.notNull())
      .addColumn('output', 'text')
      .addColumn('error', 'text')
      .addColumn('idempotency_key', 'text')
      .addColumn('parent_run_id', 'text')
      .addColumn('parent_task_id', 'text')
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('finished_at', ms)
      .addColumn('deadline_at', ms)
      .addColumn('callback_url', 'text')
      .addColumn('final_status', 'text')
      .addColumn('completion_published', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('completion_attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await trx.schema
      .createIndex('runs_idempotency')
      .ifNotExists()
      .unique()
      .on('runs')
      .columns(['workflow', 'idempotency_key'])
      .execute();
    await trx.schema
      .createIndex('runs_list')
      .ifNotExists()
      .on('runs')
      .columns(['created_at'])
      .execute();
    await trx.schema
      .createIndex('runs_status')
      .ifNotExists()
      .on('runs')
      .columns(['status', 'deadline_at'])
      .execute();
    await trx.schema
      .createIndex('runs_parent')
      .ifNotExists()
      .on('runs')
      .columns(['parent_run_id'])
      .execute();
    await trx.schema
      .createIndex('runs_outbox')
      .ifNotExists()
      .on('runs')
      .columns(['completion_published', 'finished_at'])
      .execute();
    await trx.schema
      .createTable('tasks')
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('step', 'text', (c) => c.notNull())
      .addColumn('item_index', 'integer', (c) => c.notNull())
      .addColumn('parent_id', 'text')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('queue', 'text')
      .addColumn('timeout_ms', 'integer', (c) => c.notNull())
      .addColumn('input', 'text')
      .addColumn('output', 'text')
      .addColumn('error', 'text')
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('dispatched_at', ms)
      .addColumn('finished_at', ms)
      .addColumn('deadline_at', ms)
      .addColumn('retry_at', ms)
      .addColumn('published', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('child_run_id', 'text')
      .addColumn('progress', 'real')
      .addColumn('progress_message', 'text')
      .addColumn('fan_total', 'integer')
      .addColumn('fan_released', 'integer')
      .addColumn('fan_succeeded', 'integer')
      .addColumn('fan_failed', 'integer')
      .execute();
    // One row per (run, step, item): the database itself refuses to schedule a step twice.
    await trx.schema
      .createIndex('tasks_unique_step')
      .ifNotExists()
      .unique()
      .on('tasks')
      .columns(['run_id', 'step', 'item_index'])
      .execute();
    // Partial indexes: each holds only the tasks a background query looks for (fan-out items,
    // running tasks with a deadline, tasks waiting for a retry, unconfirmed requests), so a task
    // that finishes leaves them and a plain step of a chain touches two of them at most. Each
    // predicate is implied by the WHERE clause of its query (`x = ?` implies `x IS NOT NULL`;
    // the outbox query spells its constants as literals, which SQLite needs to use the index).
    for (const replaced of ['tasks_release', 'tasks_deadline', 'tasks_retry', 'tasks_outbox'])
      await trx.schema.dropIndex(replaced).ifExists().execute();
    await trx.schema
      .createIndex('tasks_items')
      .ifNotExists()
      .on('tasks')
      .columns(['parent_id', 'status', 'item_index'])
      .where(sql.ref('parent_id'), 'is not', null)
      .execute();
    await trx.schema
      .createIndex('tasks_running_deadline')
      .ifNotExists()
      .on('tasks')
      .column('deadline_at')
      .where(sql.ref('deadline_at'), 'is not', null)
      .execute();
    await trx.schema
      .createIndex('tasks_due_retry')
      .ifNotExists()
      .on('tasks')
      .column('retry_at')
      .where(sql.ref('retry_at'), 'is not', null)
      .execute();
    await trx.schema
      .createIndex('tasks_unconfirmed')
      .ifNotExists()
      .on('tasks')
      .column('dispatched_at')
      .where(sql<boolean>`published = 0 AND status = 'running'`)
      .execute();
    await trx.schema
      .createTable('attempts')
      .ifNotExists()
      .addColumn('task_id', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('dispatched_at', ms, (c) => c.notNull())
      .addColumn('finished_at', ms)
      .addColumn('error', 'text')
      .addColumn('worker_id', 'text')
      .addPrimaryKeyConstraint('attempts_pk', ['task_id', 'attempt'])
      .execute();
    // Attempts are found by their task (the primary key), never by run: the run view reads them
    // by task id. The index on run_id that earlier versions created was one more B-tree page for
    // every step to write (SQLite, one chain link per commit: 9.2 → 7.9 WAL pages per commit
    // with time-ordered ids, tools/bench/orchestrator/sqlite-pages.ts).
    await trx.schema.dropIndex('attempts_run').ifExists().execute();
    await trx.schema
      .createTable('dead_letters')
      .ifNotExists()
      // integer primary key = SQLite rowid (auto-assigned); bigserial in PostgreSQL.
      .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) => c.primaryKey())
      .addColumn('queue', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('received_at', ms, (c) => c.notNull())
      .execute();
    // Queue limits (queues.yaml): run priorities, steps waiting for their queue, and one row per
    // limited queue — the lock that serialises admissions across replicas and the rate bucket.
    await addColumnIfMissing(trx, dialect, 'runs', 'priority', 'integer NOT NULL DEFAULT 0');
    await addColumnIfMissing(trx, dialect, 'tasks', 'priority', 'integer NOT NULL DEFAULT 0');
    await addColumnIfMissing(trx, dialect, 'tasks', 'queued_reason', 'text');
    await trx.schema
      .createIndex('tasks_queued')
      .ifNotExists()
      .on('tasks')
      .columns(['queue', 'priority', 'created_at'])
      .where(sql<boolean>`status = 'queued'`)
      .execute();
    await trx.schema
      .createTable('queue_buckets')
      .ifNotExists()
      .addColumn('queue', 'text', (c) => c.primaryKey())
      .addColumn('tokens', 'real', (c) => c.notNull())
      .addColumn('refilled_at', ms, (c) => c.notNull())
      .execute();
  });
}

/** Adds a column to a table created by an earlier version (CREATE … IF NOT EXISTS left it out). */
async function addColumnIfMissing(
  trx: Transaction<Database>,
  dialect: Dialect,
  table: 'runs' | 'tasks',
  column: string,
  definition: string,
): Promise<void> {
  if (dialect === 'postgres') {
    await sql`ALTER TABLE ${sql.table(table)} ADD COLUMN IF NOT EXISTS ${sql.raw(column)} ${sql.raw(definition)}`.execute(
      trx,
    );
    return;
  }
  const { rows } = await sql<{
    name: string;
  }>`SELECT name FROM pragma_table_info(${table})`.execute(trx);
  if (!rows.some((r) => r.name === column))
    await sql`ALTER TABLE ${sql.table(table)} ADD COLUMN ${sql.raw(column)} ${sql.raw(definition)}`.execute(
      trx,
    );
}
