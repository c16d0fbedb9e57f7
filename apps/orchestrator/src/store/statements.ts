import { createHash } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, type Transaction } from 'kysely';
import type { Database } from './tables';

/**
 * Plain SQL for the statements every step runs (the result, the next step, their attempts),
 * written once with `?` placeholders and executed without kysely's query builder and compiler.
 * Building and compiling a kysely query costs more CPU than SQLite takes to run it (issue 20:
 * kysely ~0.12 ms of ~1.4 ms per step); the rest of the engine keeps kysely.
 *
 * SQLite: better-sqlite3 prepared statements, run synchronously on the one connection, which
 * the kysely transaction around them holds (its BEGIN … COMMIT; nothing else can run there
 * meanwhile: kysely's SQLite driver lets one query or transaction at a time through).
 * PostgreSQL: the same text with `$n` placeholders as named prepared statements, through the
 * transaction's connection.
 */
export interface Statements {
  /** Rows of a SELECT or of a statement with RETURNING. */
  all<R>(trx: Transaction<Database>, text: string, params: readonly unknown[]): Promise<R[]>;
  /** A statement without result rows. */
  run(trx: Transaction<Database>, text: string, params: readonly unknown[]): Promise<void>;
}

/** Prepared-statement cache bound to one better-sqlite3 connection (shared with kysely's driver). */
export interface SqliteHandle {
  prepare(text: string): BetterSqlite3.Statement;
}

export function sqliteStatements(handle: SqliteHandle): Statements {
  return {
    all<R>(_trx: Transaction<Database>, text: string, params: readonly unknown[]) {
      try {
        return Promise.resolve(handle.prepare(text).all(...params) as R[]);
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },
    run(_trx: Transaction<Database>, text: string, params: readonly unknown[]) {
      try {
        handle.prepare(text).run(...params);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },
  };
}

export function postgresStatements(): Statements {
  const prepared = new Map<string, { readonly name: string; readonly text: string }>();
  /**
   * A named prepared statement: PostgreSQL parses and plans it once per connection instead of on
   * every execution (node-postgres prepares a query that has a `name`). Kysely hands its `sql`
   * to `client.query` untouched, so the query config goes through in its place.
   */
  const statement = (text: string): string => {
    let query = prepared.get(text);
    if (query === undefined) {
      let n = 0;
      const numbered = text.replace(/\?/g, () => `$${++n}`);
      const name = `cv_${createHash('sha1').update(numbered).digest('hex').slice(0, 20)}`;
      query = { name, text: numbered };
      // Bounded: the texts are the engine's own, plus one per IN-list or VALUES length.
      if (prepared.size > 1000) prepared.clear();
      prepared.set(text, query);
    }
    return query as unknown as string;
  };
  return {
    async all<R>(trx: Transaction<Database>, text: string, params: readonly unknown[]) {
      const result = await trx.executeQuery<R>(CompiledQuery.raw(statement(text), [...params]));
      return result.rows as R[];
    },
    async run(trx: Transaction<Database>, text: string, params: readonly unknown[]) {
      await trx.executeQuery(CompiledQuery.raw(statement(text), [...params]));
    },
  };
}

/** `?, ?, ?` for an IN list or a VALUES row of `n` values. */
export function placeholders(n: number): string {
  return n === 1 ? '?' : `?${', ?'.repeat(n - 1)}`;
}
