import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { Pool } from 'pg';
import type { DatabaseConfig } from '../config';
import { migrations } from './migrations';

export interface GamesTable {
  id: string;
  human_side: string;
  difficulty: string;
  /** JSON array of MoveRecord. A text column rather than a moves table: games are read and written whole. */
  moves: string;
  /** JSON Termination or NULL. */
  termination: string | null;
  revision: number;
  created_at: string;
  updated_at: string;
}

export interface CheckersDatabase {
  checkers_games: GamesTable;
}

export type Db = Kysely<CheckersDatabase>;

/** Opens the configured database and brings its schema up to date. */
export async function openDatabase(config: DatabaseConfig): Promise<Db> {
  const db =
    config.kind === 'sqlite'
      ? openSqlite(config.file)
      : await openPostgres(config.url, config.schema);
  try {
    await migrate(db, config.kind === 'postgres' ? config.schema : undefined);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}

function openSqlite(file: string): Db {
  mkdirSync(dirname(file), { recursive: true });
  const database = new BetterSqlite3(file);
  // WAL keeps readers from blocking on the writer; NORMAL sync is durable across process crashes.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  return new Kysely<CheckersDatabase>({ dialect: new SqliteDialect({ database }) });
}

async function openPostgres(url: string, schema: string): Promise<Db> {
  // The schema is created with a throwaway client first, then every pooled connection gets it as
  // search_path, so the same queries and migrations work in any schema (tests use one per run).
  const setup = new Pool({ connectionString: url, max: 1 });
  try {
    await setup.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } finally {
    await setup.end();
  }
  const pool = new Pool({ connectionString: url, max: 10, options: `-c search_path="${schema}"` });
  return new Kysely<CheckersDatabase>({ dialect: new PostgresDialect({ pool }) });
}

async function migrate(db: Db, schema: string | undefined): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'checkers_migrations',
    migrationLockTableName: 'checkers_migrations_lock',
    // Named explicitly: Kysely looks its tables up by name across all schemas, so without it a
    // second deployment (another DATABASE_SCHEMA in the same database) took the first one's lock
    // table for its own, skipped creating it, and failed ("relation … does not exist").
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed: ${String(error)}`, { cause: error });
  }
}

/** Cheap round trip for readiness checks. */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
