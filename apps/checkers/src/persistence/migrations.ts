import type { Kysely, Migration } from 'kysely';

/**
 * Schema migrations, applied in name order at start-up. Never edit one that has shipped: add a
 * new one. Timestamps are ISO-8601 text so the same schema runs on SQLite and PostgreSQL.
 */
export const migrations: Record<string, Migration> = {
  '0001_games': {
    // Migrations must accept any Kysely instance: the typed schema is what they create.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('checkers_games')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('human_side', 'varchar(5)', (c) => c.notNull())
        .addColumn('difficulty', 'varchar(16)', (c) => c.notNull())
        .addColumn('moves', 'text', (c) => c.notNull())
        .addColumn('termination', 'text')
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>) {
      await db.schema.dropTable('checkers_games').execute();
    },
  },
};
