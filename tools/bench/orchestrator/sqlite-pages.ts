/**
 * What a chain link's SQL costs SQLite by itself, with the orchestrator's schema: CPU time per
 * commit and WAL pages written per commit, for random (v4) against time-ordered (v7) run and
 * task ids. It runs the statements the engine runs for one link (the run read, the success of
 * the task and its attempt, the next task and its first attempt) on better-sqlite3 directly, one
 * transaction per link as one chain at a time does, or `--group` links per transaction as the
 * results intake's group commit does under load. `--prefill` runs first fills the database, so
 * its indexes are larger than a fresh benchmark database's (the orchestrator never deletes runs).
 *
 *   npx tsx --tsconfig apps/orchestrator/tsconfig.json tools/bench/orchestrator/sqlite-pages.ts \
 *     [--runs 3000] [--prefill 0] [--group 1] [--chain-ids v4|v7] [--checkpoint-every 0]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Command } from 'commander';
import { openStore } from '../../../apps/orchestrator/src/store/database';
import { uuidv7 } from '../../../apps/orchestrator/src/store/ids';

const STEPS = 10;
const WAL_FRAME = 4096 + 24;

interface Options {
  checkpointEvery: number;
  runs: number;
  prefill: number;
  group: number;
  chainIds: 'v4' | 'v7';
}

async function measure(ids: 'v4' | 'v7', opts: Options) {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-pages-'));
  const file = join(dir, 'db.sqlite');
  const store = await openStore({ kind: 'sqlite', file });
  await store.close();
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = -32768');
  db.pragma('wal_autocheckpoint = 0');
  const newId = ids === 'v7' ? uuidv7 : randomUUID;
  const chainId = opts.chainIds === 'v7' ? uuidv7 : randomUUID;
  const insertRun = db.prepare(
    `INSERT INTO runs (id, workflow, version, status, input, created_at, priority)
     VALUES (?, 'chain', 1, 'running', 'null', ?, 0)`,
  );
  const insertTask = db.prepare(
    `INSERT INTO tasks (id, run_id, step, item_index, kind, status, attempt, max_attempts, queue,
       timeout_ms, input, created_at, dispatched_at, deadline_at, published, priority)
     VALUES (?, ?, ?, -1, 'queue', 'running', 1, 3, 'stamp', 30000, '[]', ?, ?, ?, 1, 0)`,
  );
  const insertAttempt = db.prepare(
    `INSERT INTO attempts (task_id, attempt, run_id, status, dispatched_at) VALUES (?, 1, ?, 'running', ?)`,
  );
  const readRun = db.prepare('SELECT * FROM runs WHERE id = ?');
  const succeed = db.prepare(`UPDATE tasks SET status = 'succeeded', output = ?, error = NULL,
    finished_at = ?, deadline_at = NULL, retry_at = NULL
    WHERE id = ? AND run_id = ? AND kind = 'queue' AND attempt = ? AND status = 'running' RETURNING *`);
  const finishAttempt = db.prepare(
    'UPDATE attempts SET status = ?, finished_at = ?, error = ?, worker_id = ? WHERE task_id = ? AND attempt = ?',
  );
  const completeRun = db.prepare(
    `UPDATE runs SET status = 'succeeded', output = ?, finished_at = ? WHERE id = ?`,
  );
  const begin = db.prepare('BEGIN');
  const commit = db.prepare('COMMIT');

  /** One run of STEPS links, as (start, link…, last) closures, each one transaction's work. */
  const run = () => {
    const runId = newId();
    let taskId = newId();
    const work: (() => void)[] = [];
    work.push(() => {
      const now = Date.now();
      insertRun.run(runId, now);
      insertTask.run(taskId, runId, 's0', now, now, now + 30000);
      insertAttempt.run(taskId, runId, now);
    });
    for (let k = 1; k <= STEPS; k++) {
      work.push(() => {
        const now = Date.now();
        readRun.get(runId);
        succeed.all('[{"s":1,"e":2}]', now, taskId, runId, 1);
        finishAttempt.run('succeeded', now, null, 'w1', taskId, 1);
        if (k === STEPS) {
          completeRun.run('[]', now, runId);
          return;
        }
        taskId = chainId();
        insertTask.run(taskId, runId, `s${k}`, now, now, now + 30000);
        insertAttempt.run(taskId, runId, now);
      });
    }
    return work;
  };

  // The orchestrator's checkpoint thread (wal-checkpointer.ts): a PASSIVE checkpoint on a second
  // connection every 250 ms, here every `checkpointEvery` commits. It copies each page once however
  // many commits wrote it since the last checkpoint: pages rewritten at an index's right edge cost
  // it once, pages at random places once each.
  const checkpointer = new BetterSqlite3(file);
  let copied = 0;
  let framesLogged = 0;
  let countingUs = 0;
  const checkpoint = () => {
    // Pages the checkpoint writes: the distinct page numbers among the log's frames (read from
    // the frame headers; the CPU time of reading them is left out of the figures).
    const t0 = process.cpuUsage();
    const wal = readFileSync(`${file}-wal`);
    const pages = new Set<number>();
    for (let at = 32; at + WAL_FRAME <= wal.length; at += WAL_FRAME)
      pages.add(wal.readUInt32BE(at));
    copied += pages.size;
    framesLogged += Math.floor((wal.length - 32) / WAL_FRAME);
    const t = process.cpuUsage(t0);
    countingUs += t.user + t.system;
    // Copies them into the database, then restarts the log: the next one holds only new frames.
    checkpointer.pragma('wal_checkpoint(TRUNCATE)');
  };
  const drive = (runs: number, group: number, measured = false) => {
    // `group` runs in flight, one link of each per transaction (the closed loop's group commit).
    let commits = 0;
    for (let r = 0; r < runs; r += group) {
      const works = Array.from({ length: Math.min(group, runs - r) }, run);
      for (let k = 0; k <= STEPS; k++) {
        begin.run();
        for (const w of works) w[k]?.();
        commit.run();
        commits++;
        if (measured && opts.checkpointEvery > 0 && commits % opts.checkpointEvery === 0)
          checkpoint();
      }
    }
    return commits;
  };

  drive(opts.prefill, 64);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const walBefore = statSync(`${file}-wal`).size;
  const cpu0 = process.cpuUsage();
  const commits = drive(opts.runs, opts.group, true);
  const cpu = process.cpuUsage(cpu0);
  // With checkpoints the log was truncated along the way: count what the checkpoints took too.
  const walBytes =
    opts.checkpointEvery > 0
      ? (framesLogged + Math.max(0, statSync(`${file}-wal`).size - 32) / WAL_FRAME) * WAL_FRAME
      : statSync(`${file}-wal`).size - walBefore;
  checkpointer.close();
  const dbPages = (db.pragma('page_count', { simple: true }) as number) ?? 0;
  db.close();
  rmSync(dir, { recursive: true, force: true });
  const links = opts.runs * STEPS;
  return {
    ids,
    cpuUsPerLink: (cpu.user + cpu.system - countingUs) / links,
    sysUsPerLink: cpu.system / links,
    pagesPerCommit: walBytes / WAL_FRAME / commits,
    pagesPerLink: walBytes / WAL_FRAME / links,
    dbMiB: (dbPages * 4096) / 2 ** 20,
    copiedPerLink: copied / links,
  };
}

async function main(opts: Options) {
  console.log(
    `runs ${opts.runs} × ${STEPS} links, prefill ${opts.prefill} runs, ${opts.group} run(s) per commit, chained task ids ${opts.chainIds}, checkpoint every ${opts.checkpointEvery || '–'} commits`,
  );
  console.log(
    '| ids | CPU µs / link | of which system | WAL pages / commit | WAL pages / link | pages checkpointed / link | database MiB |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const ids of ['v4', 'v7', 'v4', 'v7', 'v4', 'v7'] as const) {
    const r = await measure(ids, opts);
    console.log(
      `| ${r.ids} | ${r.cpuUsPerLink.toFixed(1)} | ${r.sysUsPerLink.toFixed(1)} | ${r.pagesPerCommit.toFixed(2)} | ${r.pagesPerLink.toFixed(2)} | ${opts.checkpointEvery > 0 ? r.copiedPerLink.toFixed(2) : '–'} | ${r.dbMiB.toFixed(1)} |`,
    );
  }
}

const program = new Command()
  .option('--runs <n>', 'measured runs of 10 links', (v) => Number(v), 3000)
  .option('--prefill <n>', 'runs written first, unmeasured', (v) => Number(v), 0)
  .option('--group <n>', 'runs whose links share each transaction', (v) => Number(v), 1)
  .option(
    '--checkpoint-every <n>',
    'PASSIVE checkpoint every n commits, as the checkpoint thread every 250 ms (0: none)',
    (v) => Number(v),
    0,
  )
  .option(
    '--chain-ids <v>',
    'ids of chained tasks (a worker picks them: v7 in both SDKs since d2d06f8, v4 before)',
    'v4',
  )
  .parse();
main(program.opts<Options>()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
