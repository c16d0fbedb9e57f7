import { Pool } from 'pg';
import { openDatabase } from '../src/persistence/database';
import { POSTGRES_URL, uniqueName } from './harness';

describe('PostgreSQL schemas', () => {
  it('migrates a second schema in a database where another one is already migrated', async () => {
    const schemas = [
      uniqueName('checkers_a').replace(/\W/g, '_'),
      uniqueName('checkers_b').replace(/\W/g, '_'),
    ];
    try {
      for (const schema of schemas) {
        const db = await openDatabase({ kind: 'postgres', url: POSTGRES_URL, schema });
        await db.destroy();
      }
      // Reopening an up-to-date schema is a no-op.
      const again = await openDatabase({
        kind: 'postgres',
        url: POSTGRES_URL,
        schema: schemas[0] as string,
      });
      await again.destroy();
    } finally {
      const pool = new Pool({ connectionString: POSTGRES_URL, max: 1 });
      for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    }
  });
});
