/**
 * What every part of the orchestrator benchmark shares: an orchestrator process (or several on one
 * database), a client that starts runs over HTTP and takes their completion from `run.completed`
 * events, the closed-loop and fan-out measurements, CPU and memory read from /proc, and cleanup.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QueueType } from '@conveyor/bus';
import type { RunEvent } from '@conveyor/contracts';
import { connect } from 'amqplib';
import { Pool } from 'pg';

export const ROOT = join(__dirname, '..', '..', '..');
export const now = () => performance.timeOrigin + performance.now();

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.round((p / 100) * (sorted.length - 1)))] ?? NaN;
}

export const median = (values: number[]) => percentile(values, 50);

export const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** Command name and CPU time (user + system, ms) from /proc/<pid>/stat (clock ticks of 10 ms). */
function readStat(pid: number): { comm: string; cpu: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: split at the last ')'.
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    return {
      comm: stat.slice(stat.indexOf('(') + 1, close),
      cpu: (Number(fields[11]) + Number(fields[12])) * 10,
    };
  } catch {
    return undefined; // exited meanwhile
  }
}

/**
 * CPU time (user + system) a process has used, in ms: the sum of its threads' run time from
 * /proc/<pid>/task/<tid>/schedstat (nanoseconds, measured by the scheduler). /proc/<pid>/stat
 * counts in clock ticks of 10 ms, which on the ~0.6 s of CPU of 100 one-at-a-time chains is a
 * sampling error of ±10 %; schedstat has none. Threads that ended are lost (the orchestrator's
 * threads — V8's, libuv's, SQLite's checkpointer — live as long as it does).
 */
export function cpuMs(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended meanwhile
      }
    }
    return ns / 1e6;
  } catch {
    return readStat(pid)?.cpu ?? NaN; // no schedstat (kernel without it), or exited
  }
}

/** CPU time (ms) of every process whose command name is `comm` (e.g. each PostgreSQL backend). */
export function cpuByName(comm: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat?.comm === comm) out.set(Number(entry), stat.cpu);
  }
  return out;
}

/**
 * CPU the processes named `comm` used between two snapshots (ms): a process that started in
 * between counts from zero; one that exited in between is lost (PostgreSQL's pooled backends
 * and RabbitMQ's one process live through a measurement).
 */
export function cpuByNameDelta(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, cpu] of after) sum += cpu - (before.get(pid) ?? 0);
  return sum;
}

/** Whole-machine CPU from /proc/stat, in ms: busy at normal priority, busy at nice > 0, and all. */
export function machineCpu(): { busy: number; nice: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map((v) => Number(v) * 10);
  const busy = (user ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0);
  return {
    busy,
    nice: nice ?? 0,
    total: busy + (nice ?? 0) + (idle ?? 0) + (iowait ?? 0) + (steal ?? 0),
  };
}

/** CPU (ms, user + system, from /proc) each party spent during a piece of work. */
export interface CpuSplit {
  /** Steps the work carried. */
  steps: number;
  wallMs: number;
  /** One entry per orchestrator process, in the order their pids were given. */
  orchestrators: number[];
  /** This process: the no-op workers and the HTTP clients. */
  bench: number;
  /** Every process named `postgres` (the server's backends, this bench's and anyone else's). */
  postgres: number;
  /** RabbitMQ (`beam.smp`). */
  rabbitmq: number;
  /** Whole machine, at normal priority and at nice > 0 (e.g. a model training at nice 19). */
  machineBusy: number;
  machineNice: number;
}

/** Runs `work` (which returns the steps it carried) and reads what every party spent on it. */
export async function measureCpu(
  orchestratorPids: readonly number[],
  work: () => Promise<number>,
): Promise<CpuSplit> {
  const orch0 = orchestratorPids.map(cpuMs);
  const bench0 = process.cpuUsage();
  const pg0 = cpuByName('postgres');
  const mq0 = cpuByName('beam.smp');
  const m0 = machineCpu();
  const t0 = performance.now();
  const steps = await work();
  const wallMs = performance.now() - t0;
  const m1 = machineCpu();
  const bench1 = process.cpuUsage(bench0);
  return {
    steps,
    wallMs,
    orchestrators: orchestratorPids.map((pid, i) => cpuMs(pid) - (orch0[i] ?? 0)),
    bench: (bench1.user + bench1.system) / 1000,
    postgres: cpuByNameDelta(pg0, cpuByName('postgres')),
    rabbitmq: cpuByNameDelta(mq0, cpuByName('beam.smp')),
    machineBusy: m1.busy - m0.busy,
    machineNice: m1.nice - m0.nice,
  };
}

export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

export type RunCompleted = RunEvent & { event: 'run.completed' };

/**
 * Starts runs over HTTP — round robin over `bases` when several orchestrator replicas share one
 * database — and waits for their `run.completed` event, fed in by the caller's subscription (the
 * event comes from whichever replica completed the run).
 */
export class Harness {
  private readonly completed = new Map<string, RunCompleted>();
  private readonly waiters = new Map<string, (e: RunCompleted) => void>();
  private next = 0;
  constructor(readonly bases: readonly string[]) {}

  onEvent(event: RunEvent): void {
    if (event.event !== 'run.completed') return;
    const waiter = this.waiters.get(event.runId);
    if (waiter) {
      this.waiters.delete(event.runId);
      waiter(event);
    } else this.completed.set(event.runId, event);
  }

  async start(workflow: string, input: unknown): Promise<string> {
    const base = this.bases[this.next++ % this.bases.length];
    const response = await fetch(`${base}/api/workflows/${workflow}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input }),
    });
    const body = (await response.json()) as { run?: { id: string }; error?: { message: string } };
    if (!body.run)
      throw new Error(`start ${workflow} failed: ${response.status} ${body.error?.message}`);
    return body.run.id;
  }

  done(runId: string): Promise<RunCompleted> {
    const early = this.completed.get(runId);
    if (early) {
      this.completed.delete(runId);
      return Promise.resolve(early);
    }
    return new Promise((resolve) => this.waiters.set(runId, resolve));
  }

  async run(workflow: string, input: unknown) {
    const t0 = now();
    const id = await this.start(workflow, input);
    const event = await this.done(id);
    if (event.status !== 'succeeded')
      throw new Error(`run ${id} ${event.status}: ${event.error?.message}`);
    return { ms: now() - t0, t0, t1: now(), output: event.output };
  }
}

export function workflows(prefix: string, chainLength: number): Record<string, string> {
  const chainOf = (name: string, queue: string) => {
    const steps = Array.from({ length: chainLength }, (_, i) =>
      i === 0
        ? `  s1: { queue: ${queue}, input: '[]' }`
        : `  s${i + 1}: { queue: ${queue}, needs: [s${i}], input: 'steps.s${i}' }`,
    );
    return `name: ${name}\nversion: 1\nsteps:\n${steps.join('\n')}\noutput: 'steps.s${chainLength}'\n`;
  };
  return {
    'chain.yaml': chainOf('chain', `${prefix}-stamp`),
    'work.yaml': chainOf('work', `${prefix}-work`),
    'three.yaml': `name: three\nversion: 1\nsteps:\n  a: { queue: ${prefix}-noop, input: 'input' }\n  b: { queue: ${prefix}-noop, needs: [a], input: 'steps.a' }\n  c: { queue: ${prefix}-noop, needs: [b], input: 'steps.b' }\noutput: 'steps.c'\n`,
    'fan.yaml': `name: fan\nversion: 1\nsteps:\n  items:\n    forEach: '[1..input.n]'\n    concurrency: 200\n    queue: ${prefix}-noop\n    input: 'item'\n    timeout: 5m\n  count: { queue: ${prefix}-noop, needs: [items], input: '$count(steps.items)' }\noutput: 'steps.count'\n`,
  };
}

/** The names one orchestrator (or one group of replicas sharing a database) runs under. */
export interface OrchestratorSetup {
  readonly prefix: string;
  readonly amqpUrl: string;
  /** PostgreSQL; unset → SQLite under dataDir. Replicas share `schema`. */
  readonly databaseUrl?: string;
  readonly dataDir: string;
  readonly workflowsDir: string;
  readonly queueType: QueueType;
  readonly chainLinks: number;
}

export const schemaOf = (prefix: string) => prefix.replace(/-/g, '_');

/** One orchestrator process (`node --import tsx main.ts`, so its pid is the one doing the work). */
export async function startOrchestrator(
  setup: OrchestratorSetup,
  port: number,
): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.ORCH_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.ORCH_CPU_PROF}`]
        : []),
      '--import',
      'tsx',
      join(ROOT, 'apps/orchestrator/src/main.ts'),
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        TSX_TSCONFIG_PATH: join(ROOT, 'apps/orchestrator/tsconfig.json'),
        PORT: String(port),
        AMQP_URL: setup.amqpUrl,
        DATA_DIR: setup.dataDir,
        ...(setup.databaseUrl
          ? { DATABASE_URL: setup.databaseUrl, DATABASE_SCHEMA: schemaOf(setup.prefix) }
          : {}),
        WORKFLOWS_DIR: setup.workflowsDir,
        RESULTS_QUEUE: `${setup.prefix}-results`,
        PROGRESS_QUEUE: `${setup.prefix}-progress`,
        EVENTS_EXCHANGE: `${setup.prefix}-events`,
        STEP_QUEUE_TYPE: setup.queueType,
        CHAIN_LINKS: String(setup.chainLinks),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 300 || child.exitCode !== null)
        throw new Error('the orchestrator did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (error) {
    await stopOrchestrator(child);
    throw error;
  }
  return { child, base };
}

export async function stopOrchestrator(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** (c) Closed loop: `concurrency` clients each start a 3-step run and wait for it, until `seconds`. */
export async function sustained(
  harness: Harness,
  seconds: number,
  concurrency: number,
): Promise<{ completedRuns: number; runsPerSecond: number }> {
  let completedRuns = 0;
  const tEnd = now() + seconds * 1000;
  const tStart = now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (now() < tEnd) {
        await harness.run('three', { x: 1 });
        completedRuns++;
      }
    }),
  );
  return { completedRuns, runsPerSecond: completedRuns / ((now() - tStart) / 1000) };
}

/** (b) One run fanning out over n no-op items, then one step over the joined list (ms). */
export async function fanOut(harness: Harness, n: number): Promise<number> {
  const { ms, output } = await harness.run('fan', { n });
  if (output !== n) throw new Error(`fan-out of ${n} counted ${JSON.stringify(output)}`);
  return ms;
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await pool.end();
  }
}

/** Deletes this run's queues and exchanges (by prefix; Celery's included). */
export async function cleanupBroker(url: string, prefix: string): Promise<void> {
  try {
    const list = (what: string) =>
      execFileSync('rabbitmqctl', [what, '-q', '--no-table-headers', 'name'], {
        encoding: 'utf8',
      })
        .split('\n')
        .map((s) => s.trim());
    const queues = list('list_queues');
    const exchanges = list('list_exchanges');
    const conn = await connect(url, { clientProperties: { connection_name: `${prefix}-cleanup` } });
    const ch = await conn.createChannel();
    for (const name of queues.filter((n) => n.startsWith(prefix))) await ch.deleteQueue(name);
    for (const name of exchanges.filter((n) => n.startsWith(prefix))) await ch.deleteExchange(name);
    await conn.close();
  } catch (error) {
    console.error(`broker cleanup failed: ${(error as Error).message}`);
  }
}
