import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { openStore } from '../src/store/database';
import { startWalCheckpointer } from '../src/store/wal-checkpointer';

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('WAL checkpoints off the event loop', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orch-wal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function openWal(file: string): BetterSqlite3.Database {
    const db = new BetterSqlite3(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    return db;
  }

  it('turns automatic checkpoints off and copies the log into the database from its thread', async () => {
    const file = join(dir, 'a.sqlite');
    const db = openWal(file);
    const checkpointer = startWalCheckpointer(db, file, { intervalMs: 20 });
    try {
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
      const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
      // One transaction each, like the engine's transitions: 3,000 commits, well past the
      // 1,000-page point where SQLite would have checkpointed by itself.
      for (let i = 0; i < 3000; i++) insert.run('x'.repeat(200));
      // The copied pages end up in the database file itself, not only in the log (waited for:
      // on a loaded machine the thread may still be copying when 1,000 frames are reported).
      await until(
        () => checkpointer.stats().framesCheckpointed > 1000 && statSync(file).size > 3000 * 200,
        'checkpointed frames in the database file',
      );
      const stats = checkpointer.stats();
      expect(stats.running).toBe(true);
      expect(stats.checkpoints).toBeGreaterThan(0);
      expect(stats.lastError).toBeUndefined();
    } finally {
      await checkpointer.stop();
      db.close();
    }
    expect(checkpointer.stats().running).toBe(false);
  });

  it('hands checkpoints back to SQLite when its thread dies', async () => {
    const file = join(dir, 'b.sqlite');
    const db = openWal(file);
    const checkpointer = startWalCheckpointer(db, file, {
      intervalMs: 20,
      driver: join(dir, 'no-such-driver.js'),
    });
    try {
      await until(() => !checkpointer.stats().running, 'the thread to exit');
      expect(checkpointer.stats().lastError).toMatch(/no-such-driver/);
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    } finally {
      await checkpointer.stop();
      db.close();
    }
  });

  it('runs for file stores only, and stops with the store', async () => {
    const file = await openStore({ kind: 'sqlite', file: join(dir, 'store.sqlite') });
    const memory = await openStore({ kind: 'sqlite', file: ':memory:' });
    try {
      expect(file.walCheckpoints?.().running).toBe(true);
      expect(memory.walCheckpoints).toBeUndefined();
    } finally {
      await file.close();
      await memory.close();
    }
    expect(file.walCheckpoints?.().running).toBe(false);
  });
});
