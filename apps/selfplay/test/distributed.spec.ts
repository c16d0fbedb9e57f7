/**
 * End to end: the real orchestrator (its main.ts, as a process, SQLite in a temp dir) runs
 * workflows/selfplay.yaml over RabbitMQ; two selfplay worker processes play the shards; the
 * `selfplay distributed` CLI submits the run over HTTP and writes the merged log. Queue, results
 * and exchange names carry a per-test prefix, so parallel test runs on the shared broker do not
 * collide, and are deleted afterwards.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseRecord, replayRecord, type GameRecord } from '@conveyor/draughts-learning';
import { spawnTs, startOrchestrator, type LoggedProcess } from '@conveyor/test-support';
import { connect } from 'amqplib';

jest.setTimeout(180_000);

const ROOT = resolve(__dirname, '../../..');
const AMQP_URL = process.env['TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const PREFIX = `selfplay-dist-${process.pid}-${Date.now().toString(36)}-`;
const exec = promisify(execFile);

const cli = (...args: string[]) =>
  exec(process.execPath, ['--import', 'tsx', 'apps/selfplay/src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, TSX_TSCONFIG_PATH: 'tsconfig.base.json' },
    encoding: 'utf8',
  });

const dir = mkdtempSync(join(tmpdir(), 'selfplay-dist-'));
const processes: LoggedProcess[] = [];
let base = '';

beforeAll(async () => {
  const workflows = join(dir, 'workflows');
  const data = join(dir, 'data');
  for (const d of [workflows, data]) mkdirSync(d);
  writeFileSync(
    join(workflows, 'selfplay.yaml'),
    readFileSync(join(ROOT, 'apps/selfplay/workflows/selfplay.yaml'), 'utf8').replace(
      /queue: (selfplay-[a-z]+)/g,
      `queue: ${PREFIX}$1`,
    ),
  );
  // Two workers, one thread each: the shards spread over both like over two machines.
  const workers = [0, 1].map(() =>
    spawnTs(join(ROOT, 'apps/selfplay/src/worker.ts'), {
      cwd: ROOT,
      tsconfig: join(ROOT, 'tsconfig.base.json'),
      env: {
        AMQP_URL,
        SELFPLAY_QUEUE_PREFIX: PREFIX,
        SELFPLAY_THREADS: '1',
        LOG_LEVEL: 'info',
      },
    }),
  );
  processes.push(...workers);
  // Three tsx processes starting at once on a loaded machine: the waits only stop a hang. The
  // orchestrator picks its own port (no free-port race during its start) and logs it.
  // allSettled: a worker that fails to start must not leave the orchestrator's start running
  // past afterAll's cleanup.
  const outcomes = await Promise.allSettled([
    startOrchestrator({
      root: ROOT,
      amqpUrl: AMQP_URL,
      dataDir: data,
      workflowsDir: workflows,
      prefix: PREFIX,
      timeoutMs: 150_000,
    }).then((started) => {
      processes.push(started.process);
      base = started.base;
    }),
    ...workers.map((p) => p.waitForLine(/selfplay worker ready/, 150_000)),
  ]);
  for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
});

afterAll(async () => {
  for (const p of processes) await p.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
  // Delete this test's queues and exchanges (ours only, by prefix).
  const names = async (what: string) =>
    (await exec('rabbitmqctl', [what, '-q', '--no-table-headers', 'name'])).stdout
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => s.startsWith(PREFIX));
  const queues = await names('list_queues');
  const exchanges = await names('list_exchanges');
  const conn = await connect(AMQP_URL, {
    clientProperties: { connection_name: `${PREFIX}cleanup` },
  });
  const ch = await conn.createChannel();
  for (const q of queues) await ch.deleteQueue(q);
  for (const x of exchanges) await ch.deleteExchange(x);
  await conn.close();
});

function parseLog(text: string): GameRecord[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const p = parseRecord(line);
      if (!p.ok) throw new Error(`bad game line ${line}: ${p.error}`);
      return p.record;
    });
}

describe('self-play sharded over the orchestrator', () => {
  it('plays 4 shards × 3 games on the workers and merges them into the same games a local run plays', async () => {
    const out = join(dir, 'distributed.jsonl');
    const args = ['--orchestrator', base, '--games', '12', '--shards', '4', '--depth', '2'];
    const { stdout } = await cli('distributed', ...args, '--seed', '7', '--out', out);
    const summary =
      /run (\S+): 12 games in 4 shards \(\+(\d+) =(\d+) -(\d+) from White's side\).* on (\d) worker/.exec(
        stdout,
      );
    if (!summary) throw new Error(`unexpected CLI output:\n${stdout}`);
    const [, runId, w, d, b, workers] = summary;

    const games = parseLog(readFileSync(out, 'utf8'));
    expect(games.map((g) => g.id)).toEqual([...Array(12).keys()]);
    for (const g of games) expect(replayRecord(g).moves).toHaveLength(g.plies);
    const count = (r: string) => games.filter((g) => g.result === r).length;
    expect([Number(w), Number(d), Number(b)]).toEqual([
      count('1-0'),
      count('1/2-1/2'),
      count('0-1'),
    ]);
    expect(Number(w) + Number(d) + Number(b)).toBe(12);
    expect(Number(workers)).toBeGreaterThanOrEqual(1);

    // Game seeds derive from (seed, id): the local generator plays exactly the same games.
    const local = join(dir, 'local.jsonl');
    await cli(
      'generate',
      '--games',
      '12',
      '--depth',
      '2',
      '--seed',
      '7',
      '--threads',
      '1',
      '--out',
      local,
      '--no-progress',
    );
    const localGames = parseLog(readFileSync(local, 'utf8')).sort((x, y) => x.id - y.id);
    expect(games).toEqual(localGames);

    // The orchestrator's record of the run: four shard items, each on a selfplay worker, then the aggregate.
    const detail = (await (await fetch(`${base}/api/runs/${runId}`)).json()) as {
      status: string;
      steps: {
        step: string;
        status: string;
        fanOut?: { total: number; succeeded: number };
        items?: { attempts: { workerId: string }[] }[];
      }[];
    };
    expect(detail.status).toBe('succeeded');
    const shards = detail.steps.find((s) => s.step === 'shards');
    expect(shards?.fanOut).toMatchObject({ total: 4, succeeded: 4 });
    expect(shards?.items?.every((i) => i.attempts.length >= 1)).toBe(true);
    expect(detail.steps.find((s) => s.step === 'aggregate')?.status).toBe('succeeded');

    // Running the same command again attaches to the finished run instead of replaying it.
    const again = await cli(
      'distributed',
      ...args,
      '--seed',
      '7',
      '--out',
      join(dir, 'again.jsonl'),
    );
    expect(again.stdout).toContain(`run ${runId}:`);
    expect(readFileSync(join(dir, 'again.jsonl'), 'utf8')).toBe(readFileSync(out, 'utf8'));
  });

  it('explains a shard layout the contract cannot carry, before contacting anyone', async () => {
    await expect(
      cli(
        'distributed',
        '--orchestrator',
        base,
        '--games',
        '20000',
        '--shards',
        '2',
        '--out',
        join(dir, 'x.jsonl'),
      ),
    ).rejects.toThrow(/10000 games per shard, above the contract's 5000: use at least 4 shards/);
  });
});
