/**
 * Orchestrator benchmark: (a) per-step orchestration overhead of a 10-step chain of no-op workers
 * at ~200 steps/s, (b) 1,000/10,000-way fan-out time and orchestrator memory, (c) sustained runs/s
 * of a 3-step workflow, (d) the same chain and a chord-style fan-out on Celery, side by side.
 *
 * The orchestrator runs as its own process (so its memory is measurable) on real RabbitMQ and
 * SQLite (or PostgreSQL with --database-url); the no-op workers run in this process.
 *
 *   npx nx run orchestrator:bench            # full run, writes docs/benchmarks/orchestrator.md
 *   npx nx run orchestrator:bench -- --quick # tiny sizes (what the test runs)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBus, QUEUE_TYPES, type Bus, type QueueType } from '@conveyor/bus';
import type { RunEvent } from '@conveyor/contracts';
import { freePort, spawnLogged } from '@conveyor/test-support';
import { defineStepHandler, runEventsTopic, startStepWorker } from '@conveyor/worker-sdk';
import { Command } from 'commander';
import { connect } from 'amqplib';
import { Pool } from 'pg';
import pino from 'pino';
import { CeleryPeer, type ChainSamples } from './celery-peer';

const ROOT = join(__dirname, '..', '..', '..');
const DEFAULT_QUEUE_TYPES = 'classic,quorum';
/** What the orchestrator uses unless CHAIN_LINKS says otherwise (engine.ts). */
const DEFAULT_CHAIN_LINKS = 16;
/** Sequential chains per block when Conveyor and Celery take turns (see CeleryPeer). */
const CHAIN_BLOCK = 10;
const now = () => performance.timeOrigin + performance.now();

interface Options {
  quick: boolean;
  out?: string;
  databaseUrl?: string;
  amqpUrl: string;
  celery: boolean;
  queueTypes: string;
  /** Also measure the first queue type with chains off (CHAIN_LINKS=0), side by side. */
  dispatchBaseline: boolean;
}

/** One orchestrator configuration: step queue type, and how many chain links requests carry. */
interface Variant {
  readonly queueType: QueueType;
  readonly chainLinks: number;
}

/** What one orchestrator (one queue type) measured. */
interface ConveyorResult {
  variant: Variant;
  seqGaps: number[];
  seqRuns: number[];
  /** From the start request to the first step starting (HTTP, first transaction, one hop). */
  seqFirst: number[];
  /** From the last step ending to its run.completed event arriving. */
  seqLast: number[];
  /** Orchestrator process CPU (user + system) per step during the sequential chains. */
  orchestratorCpuPerStepMs: number;
  /** (f) Whole runs and link overheads of chains whose steps take workMs. */
  workRuns: number[];
  workGaps: number[];
  /** Celery's chains, measured in blocks taking turns with (a1) and (f) of this variant. */
  celery: { chains: ChainSamples; work: ChainSamples } | undefined;
  rateGaps: number[];
  rateRuns: number[];
  achieved: number;
  /** Mean time of the orchestrator's result transaction during the sequential chains (ms). */
  resultTxMs: number;
  completedRuns: number;
  runsPerSecond: number;
  fanRows: { n: number; ms: number; baseline: number; peak: number }[];
  chordMs: number;
}

interface Stamp {
  s: number;
  e: number;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.round((p / 100) * (sorted.length - 1)))] ?? NaN;
}

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** CPU time (user + system) a process has used, in ms (from /proc, clock ticks of 10 ms). */
function append(to: ChainSamples, more: ChainSamples): void {
  to.gaps.push(...more.gaps);
  to.runs.push(...more.runs);
}

function cpuMs(pid: number): number {
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function workflows(prefix: string, chainLength: number): Record<string, string> {
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

class Harness {
  private readonly completed = new Map<string, RunEvent & { event: 'run.completed' }>();
  private readonly waiters = new Map<string, (e: RunEvent & { event: 'run.completed' }) => void>();
  constructor(
    readonly base: string,
    readonly orchestrator: ChildProcess,
  ) {}

  onEvent(event: RunEvent): void {
    if (event.event !== 'run.completed') return;
    const waiter = this.waiters.get(event.runId);
    if (waiter) {
      this.waiters.delete(event.runId);
      waiter(event);
    } else this.completed.set(event.runId, event);
  }

  async start(workflow: string, input: unknown): Promise<string> {
    const response = await fetch(`${this.base}/api/workflows/${workflow}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input }),
    });
    const body = (await response.json()) as { run?: { id: string }; error?: { message: string } };
    if (!body.run)
      throw new Error(`start ${workflow} failed: ${response.status} ${body.error?.message}`);
    return body.run.id;
  }

  done(runId: string): Promise<RunEvent & { event: 'run.completed' }> {
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

type Sizes = {
  chainLength: number;
  seqChains: number;
  /** (f): sequential chains whose steps each wait workMs. */
  workRuns: number;
  workMs: number;
  rateSeconds: number;
  rateRunsPerSecond: number;
  throughputSeconds: number;
  throughputConcurrency: number;
  fanouts: number[];
  chord: number;
};

/** Sum and count of the orchestrator's `result` transition histogram (from /metrics). */
async function resultTransitions(base: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const read = (suffix: string) =>
    Number(
      new RegExp(
        `^conveyor_workflow_transition_seconds_${suffix}\\{[^}]*kind="result"[^}]*\\} (\\S+)$`,
        'm',
      ).exec(text)?.[1] ?? 0,
    );
  return { sum: read('sum'), count: read('count') };
}

/**
 * One orchestrator process on `queueType` step queues, the no-op workers in this process, and
 * every Conveyor measurement. Each queue type gets its own names (prefix), so the two never
 * meet a queue declared with the other type.
 */
async function runConveyor(
  opts: Options,
  q: Sizes,
  variant: Variant,
  logger: pino.Logger,
  celeryPeer: CeleryPeer | undefined,
): Promise<ConveyorResult> {
  const { queueType } = variant;
  const prefix = `orch-bench-${process.pid}-${Date.now().toString(36)}-${queueType}-${variant.chainLinks}`;
  const workDir = mkdtempSync(join(tmpdir(), 'orch-bench-'));
  const wfDir = join(workDir, 'workflows');
  execFileSync('mkdir', ['-p', wfDir]);
  for (const [name, text] of Object.entries(workflows(prefix, q.chainLength)))
    writeFileSync(join(wfDir, name), text);

  const port = await freePort();
  const orchestrator = spawn(
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
        AMQP_URL: opts.amqpUrl,
        DATA_DIR: join(workDir, 'data'),
        ...(opts.databaseUrl
          ? { DATABASE_URL: opts.databaseUrl, DATABASE_SCHEMA: prefix.replace(/-/g, '_') }
          : {}),
        WORKFLOWS_DIR: wfDir,
        RESULTS_QUEUE: `${prefix}-results`,
        PROGRESS_QUEUE: `${prefix}-progress`,
        EVENTS_EXCHANGE: `${prefix}-events`,
        STEP_QUEUE_TYPE: queueType,
        CHAIN_LINKS: String(variant.chainLinks),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const base = `http://127.0.0.1:${port}`;
  const harness = new Harness(base, orchestrator);
  let bus: Bus | undefined;
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 300 || orchestrator.exitCode !== null)
        throw new Error('the orchestrator did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }
    bus = await createBus({ url: opts.amqpUrl, logger, connectionName: `${prefix}-workers` });
    await bus.subscribe(
      runEventsTopic(`${prefix}-events`),
      async (d) => harness.onEvent(d.message),
      { pattern: 'run.completed.#', prefetch: 1000 },
    );
    const worker = await startStepWorker({
      bus,
      logger,
      skipExpired: false,
      queueType,
      handlers: [
        defineStepHandler<Stamp[], Stamp[]>({
          queue: `${prefix}-stamp`,
          concurrency: 64,
          handle: async ({ input }) => {
            const s = now();
            return [...input, { s, e: now() }];
          },
        }),
        defineStepHandler<Stamp[], Stamp[]>({
          queue: `${prefix}-work`,
          concurrency: 64,
          handle: async ({ input }) => {
            const s = now();
            await new Promise((r) => setTimeout(r, q.workMs));
            return [...input, { s, e: now() }];
          },
        }),
        defineStepHandler({
          queue: `${prefix}-noop`,
          concurrency: 256,
          handle: async ({ input }) => input,
        }),
      ],
    });

    // Warm-up (JIT, connections, SQLite page cache).
    await Promise.all(Array.from({ length: 10 }, () => harness.run('chain', null)));

    // (a1) sequential chains: per-hop overhead with nothing else running (comparable with Celery).
    const seqGaps: number[] = [];
    const seqRuns: number[] = [];
    const seqFirst: number[] = [];
    const seqLast: number[] = [];
    const celeryChains: ChainSamples = { gaps: [], runs: [] };
    const tx0 = await resultTransitions(base);
    let orchestratorCpu = 0;
    for (let done = 0; done < q.seqChains; done += CHAIN_BLOCK) {
      const block = Math.min(CHAIN_BLOCK, q.seqChains - done);
      const cpu0 = cpuMs(orchestrator.pid ?? 0);
      for (let i = 0; i < block; i++) {
        const { ms, output, t0, t1 } = await harness.run('chain', null);
        const stamps = output as Stamp[];
        seqRuns.push(ms);
        seqFirst.push((stamps[0]?.s ?? NaN) - t0);
        seqLast.push(t1 - (stamps[stamps.length - 1]?.e ?? NaN));
        for (let k = 1; k < stamps.length; k++)
          seqGaps.push((stamps[k]?.s ?? NaN) - (stamps[k - 1]?.e ?? NaN));
      }
      orchestratorCpu += cpuMs(orchestrator.pid ?? 0) - cpu0;
      if (celeryPeer) append(celeryChains, await celeryPeer.chains(block));
    }
    const orchestratorCpuPerStepMs = orchestratorCpu / (q.seqChains * q.chainLength);
    const tx1 = await resultTransitions(base);
    const resultTxMs = ((tx1.sum - tx0.sum) / Math.max(1, tx1.count - tx0.count)) * 1000;

    // (a2) chains started at a fixed rate: 20 runs/s × 10 steps = 200 steps/s.
    const rateGaps: number[] = [];
    const rateRuns: number[] = [];
    const pending: Promise<void>[] = [];
    const interval = 1000 / q.rateRunsPerSecond;
    const total = q.rateSeconds * q.rateRunsPerSecond;
    const t0 = now();
    for (let i = 0; i < total; i++) {
      const wait = t0 + i * interval - now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      pending.push(
        harness.run('chain', null).then(({ ms, output }) => {
          rateRuns.push(ms);
          const stamps = output as Stamp[];
          for (let k = 1; k < stamps.length; k++)
            rateGaps.push((stamps[k]?.s ?? NaN) - (stamps[k - 1]?.e ?? NaN));
        }),
      );
    }
    await Promise.all(pending);
    const achieved = (total * q.chainLength) / ((now() - t0) / 1000);

    // (f) chains of steps that take workMs each: whole runs, one at a time.
    const workRuns: number[] = [];
    const workGaps: number[] = [];
    const celeryWork: ChainSamples = { gaps: [], runs: [] };
    for (let done = 0; done < q.workRuns; done += CHAIN_BLOCK) {
      const block = Math.min(CHAIN_BLOCK, q.workRuns - done);
      for (let i = 0; i < block; i++) {
        const { ms, output } = await harness.run('work', null);
        workRuns.push(ms);
        const stamps = output as Stamp[];
        for (let k = 1; k < stamps.length; k++)
          workGaps.push((stamps[k]?.s ?? NaN) - (stamps[k - 1]?.e ?? NaN));
      }
      if (celeryPeer) append(celeryWork, await celeryPeer.work(block, q.workMs));
    }

    // (c) sustained runs/s of a 3-step workflow, closed loop.
    let completedRuns = 0;
    const tEnd = now() + q.throughputSeconds * 1000;
    const tStart = now();
    await Promise.all(
      Array.from({ length: q.throughputConcurrency }, async () => {
        while (now() < tEnd) {
          await harness.run('three', { x: 1 });
          completedRuns++;
        }
      }),
    );
    const runsPerSecond = completedRuns / ((now() - tStart) / 1000);

    // (b) fan-out: time to completion and orchestrator memory (RSS sampled every 50 ms).
    const fanRows: ConveyorResult['fanRows'] = [];
    for (const n of q.fanouts) {
      const pid = orchestrator.pid ?? 0;
      const baseline = rssMiB(pid);
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 50);
      const { ms, output } = await harness.run('fan', { n });
      clearInterval(sampler);
      peak = Math.max(peak, rssMiB(pid));
      if (output !== n) throw new Error(`fan-out of ${n} counted ${JSON.stringify(output)}`);
      fanRows.push({ n, ms, baseline, peak });
    }
    const chordMs =
      fanRows.find((r) => r.n === q.chord)?.ms ?? (await harness.run('fan', { n: q.chord })).ms;

    await worker.close();
    return {
      variant,
      seqGaps,
      seqRuns,
      seqFirst,
      seqLast,
      orchestratorCpuPerStepMs,
      workRuns,
      workGaps,
      celery: celeryPeer ? { chains: celeryChains, work: celeryWork } : undefined,
      rateGaps,
      rateRuns,
      achieved,
      resultTxMs,
      completedRuns,
      runsPerSecond,
      fanRows,
      chordMs,
    };
  } finally {
    orchestrator.kill('SIGTERM');
    await new Promise((r) =>
      orchestrator.exitCode !== null ? r(undefined) : orchestrator.once('exit', r),
    );
    await bus?.close();
    await cleanupBroker(opts.amqpUrl, prefix);
    if (opts.databaseUrl) await dropSchema(opts.databaseUrl, prefix.replace(/-/g, '_'));
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function main(opts: Options): Promise<void> {
  const logger = pino({ level: 'warn' });
  const queueTypes = opts.queueTypes.split(',').map((t) => t.trim());
  for (const t of queueTypes)
    if (!(QUEUE_TYPES as readonly string[]).includes(t))
      throw new Error(`--queue-types: unknown queue type ${t} (use ${QUEUE_TYPES.join(', ')})`);
  const q: Sizes = opts.quick
    ? {
        chainLength: 10,
        seqChains: 10,
        workRuns: 3,
        workMs: 10,
        rateSeconds: 1,
        rateRunsPerSecond: 20,
        throughputSeconds: 2,
        throughputConcurrency: 16,
        fanouts: [100, 1000],
        chord: 100,
      }
    : {
        chainLength: 10,
        seqChains: 100,
        workRuns: 30,
        workMs: 10,
        rateSeconds: 10,
        rateRunsPerSecond: 20,
        throughputSeconds: 10,
        throughputConcurrency: 64,
        fanouts: [1000, 10000],
        chord: 1000,
      };
  const variants: Variant[] = (queueTypes as QueueType[]).flatMap((queueType, i) => [
    { queueType, chainLinks: DEFAULT_CHAIN_LINKS },
    ...(i === 0 && opts.dispatchBaseline ? [{ queueType, chainLinks: 0 }] : []),
  ]);
  // (d) Celery, same broker, Redis result backend: its chains take turns with each variant's.
  const celeryPrefix = `orch-bench-${process.pid}-${Date.now().toString(36)}-celery`;
  const peer = opts.celery
    ? await CeleryPeer.start({
        AMQP_URL: opts.amqpUrl,
        BENCH_PREFIX: celeryPrefix,
        CHAIN_LENGTH: String(q.chainLength),
        WORKER_CONCURRENCY: String(cpus().length),
      })
    : undefined;
  const runs: ConveyorResult[] = [];
  let celery: { version: string; chordMs: number } | undefined;
  try {
    for (const variant of variants) runs.push(await runConveyor(opts, q, variant, logger, peer));
    if (peer) celery = { version: peer.version, chordMs: await peer.chord(q.chord) };
  } finally {
    await peer?.close();
    if (peer) await cleanupBroker(opts.amqpUrl, celeryPrefix);
  }

  // (e) the floor: one bare broker hop between two processes.
  const hop = await measureBrokerHop(opts.amqpUrl, q.seqChains * (q.chainLength - 1));

  const label = (r: ConveyorResult) =>
    `${r.variant.queueType} queues, ${r.variant.chainLinks > 0 ? 'chains' : 'no chains'}`;
  /** Broker hops between a worker finishing a step and the next starting: chains save one. */
  const hopsPerLink = (r: ConveyorResult) => (r.variant.chainLinks > 0 ? 1 : 2);
  const results: string[] = [
    `### (a) Orchestration overhead per step (10-step chain of no-op workers)`,
    '',
    'Overhead = time from a worker finishing step *k* to a worker starting step *k+1*. "chains" (the default, `CHAIN_LINKS=16`): the worker publishes step *k+1*\'s request itself (protocol §7), one broker hop, and the orchestrator records it from step *k*\'s result off the critical path. "no chains" (`CHAIN_LINKS=0`, also what a worker ignoring `chain` gets): result publish, broker, orchestrator transaction, request publish, broker. "result tx" = mean time of the orchestrator\'s result transaction (lock wait, SQL, commit) during the one-chain-at-a-time runs, from its `conveyor_workflow_transition_seconds` histogram.',
    '',
    '| step queues | load | steps measured | p50 (ms) | p99 (ms) | run p50 (ms) | run p99 (ms) | result tx mean (ms) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  results.push(
    '',
    "Where a whole run's time goes, one chain at a time (p50, ms): *start* = from the start request to the first step starting (HTTP, the run's first transaction, one hop); *links* = the 9 overheads between steps; *completion* = from the last step ending to its `run.completed` event arriving (result hop, every step not yet recorded, the run's completion, the event hop).",
    '',
    '| step queues | start p50 | completion p50 | completion p99 | orchestrator CPU per step (ms) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...runs.map(
      (r) =>
        `| ${label(r)} | ${fmt(percentile(r.seqFirst, 50))} | ${fmt(percentile(r.seqLast, 50))} | ${fmt(percentile(r.seqLast, 99))} | ${fmt(r.orchestratorCpuPerStepMs)} |`,
    ),
  );
  const chainRows: string[] = [];
  for (const r of runs) {
    chainRows.push(
      `| ${label(r)} | one chain at a time | ${r.seqGaps.length} | ${fmt(percentile(r.seqGaps, 50))} | ${fmt(percentile(r.seqGaps, 99))} | ${fmt(percentile(r.seqRuns, 50), 1)} | ${fmt(percentile(r.seqRuns, 99), 1)} | ${fmt(r.resultTxMs)} |`,
      `| ${label(r)} | ${q.rateRunsPerSecond} chains/s (${fmt(r.achieved, 0)} steps/s achieved) | ${r.rateGaps.length} | ${fmt(percentile(r.rateGaps, 50))} | ${fmt(percentile(r.rateGaps, 99))} | ${fmt(percentile(r.rateRuns, 50), 1)} | ${fmt(percentile(r.rateRuns, 99), 1)} | |`,
    );
  }
  results.splice(6, 0, ...chainRows);
  results.push(
    '',
    `### (b) Fan-out (concurrency limit 200, no-op items, then one step over the joined list)`,
    '',
    '| step queues | items | time to completion (s) | items/s | orchestrator RSS before (MiB) | peak RSS during (MiB) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...runs.flatMap((r) =>
      r.fanRows.map(
        (f) =>
          `| ${label(r)} | ${f.n} | ${fmt(f.ms / 1000)} | ${fmt(f.n / (f.ms / 1000), 0)} | ${fmt(f.baseline, 0)} | ${fmt(f.peak, 0)} |`,
      ),
    ),
    '',
    `### (c) Sustained throughput, 3-step workflow (closed loop, ${q.throughputConcurrency} runs in flight, ${q.throughputSeconds} s)`,
    '',
    `| step queues | runs completed | runs/s | steps/s |`,
    '| --- | ---: | ---: | ---: |',
    ...runs.map(
      (r) =>
        `| ${label(r)} | ${r.completedRuns} | ${fmt(r.runsPerSecond, 1)} | ${fmt(r.runsPerSecond * 3, 0)} |`,
    ),
    '',
  );
  const withCelery = runs.filter(
    (r): r is ConveyorResult & { celery: NonNullable<ConveyorResult['celery']> } =>
      r.celery !== undefined,
  );
  const pair = (theirs: number, ours: number, digits: number) =>
    `${fmt(theirs, digits)} / ${fmt(ours, digits)} | ${fmt(theirs / ours)}`;
  if (celery) {
    results.push(
      `### (d) Conveyor vs Celery (${celery.version}, prefork --concurrency ${cpus().length}, same RabbitMQ, Redis result backend), same run, taking turns`,
      '',
      `Each variant's one-at-a-time chains of (a) ran in blocks of ${CHAIN_BLOCK}, each block followed by ${CHAIN_BLOCK} Celery chains of the same shape, so every ratio compares measurements taken seconds apart: this shared machine's speed drifts from minute to minute, more than the differences measured. Ratio = Celery / Conveyor (> 1: Conveyor is faster).`,
      '',
      `| chain of ${q.chainLength} no-ops, one at a time | per-step p50 (ms), Celery / Conveyor | ratio | per-step p99 (ms), Celery / Conveyor | ratio | whole run p50 (ms), Celery / Conveyor | ratio |`,
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...withCelery.map(
        (r) =>
          `| ${label(r)} | ${pair(percentile(r.celery.chains.gaps, 50), percentile(r.seqGaps, 50), 2)} | ${pair(percentile(r.celery.chains.gaps, 99), percentile(r.seqGaps, 99), 2)} | ${pair(percentile(r.celery.chains.runs, 50), percentile(r.seqRuns, 50), 1)} |`,
      ),
      '',
      '| shape | Celery | ' + runs.map((r) => `Conveyor, ${label(r)} | ratio`).join(' | ') + ' |',
      '| --- | ---: | ' + runs.map(() => '---: | ---:').join(' | ') + ' |',
      `| fan-out/chord of ${q.chord} no-ops + join (ms) | ${fmt(celery.chordMs, 0)} | ` +
        runs.map((r) => `${fmt(r.chordMs, 0)} | ${fmt(celery.chordMs / r.chordMs)}`).join(' | ') +
        ' |',
      '',
    );
  }

  // (f) steps that take time, as online model steps do.
  results.push(
    `### (f) A chain of ${q.chainLength} steps of ${q.workMs} ms each (one at a time, ${q.workRuns} runs per stack${celery ? ', taking turns with Celery as in (d)' : ''})`,
    '',
    `Each step waits ${q.workMs} ms (a model served elsewhere; the product's online steps take 10–100 ms) and stamps its start and end, so the orchestrator records each step while the next one runs — unlike the no-op chain of (a), where its bookkeeping competes with the workers for the 2 cores. Ratio = Celery / Conveyor (> 1: Conveyor is faster).`,
    '',
    '| variant | whole run p50 (ms), Celery / Conveyor | ratio | whole run p99 (ms), Celery / Conveyor | ratio | link overhead p50 (ms), Celery / Conveyor | ratio |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...runs.map((r) =>
      r.celery
        ? `| ${label(r)} | ${pair(percentile(r.celery.work.runs, 50), percentile(r.workRuns, 50), 1)} | ${pair(percentile(r.celery.work.runs, 99), percentile(r.workRuns, 99), 1)} | ${pair(percentile(r.celery.work.gaps, 50), percentile(r.workGaps, 50), 2)} |`
        : `| ${label(r)} | – / ${fmt(percentile(r.workRuns, 50), 1)} | | – / ${fmt(percentile(r.workRuns, 99), 1)} | | – / ${fmt(percentile(r.workGaps, 50))} | |`,
    ),
    '',
  );

  const hopP50 = percentile(hop, 50);
  results.push(
    `### (e) The floor: one broker hop between two processes (bare amqplib, persistent, confirms), same run`,
    '',
    `A message published by one process and consumed by another through a durable classic queue, ${hop.length} times one at a time, with no framework, validation or database (tools/bench/orchestrator/hop-echo.ts). A Celery chain link is one such hop (worker → broker → worker), and so is a Conveyor link with chains; without chains it is two (worker → broker → orchestrator → broker → worker). "Beyond the hops" is what the libraries, the SDK and (without chains) the orchestrator's transaction add.`,
    '',
    '| measure | p50 (ms) | p99 (ms) |',
    '| --- | ---: | ---: |',
    `| one broker hop | ${fmt(hopP50)} | ${fmt(percentile(hop, 99))} |`,
    ...runs.map(
      (r) =>
        `| Conveyor link (${label(r)}) beyond its ${hopsPerLink(r)} hop${hopsPerLink(r) > 1 ? 's' : ''}, p50 | ${fmt(percentile(r.seqGaps, 50) - hopsPerLink(r) * hopP50)} | |`,
    ),
    ...(withCelery.length > 0
      ? [
          `| Celery link beyond its 1 hop, p50 (every block of (d)) | ${fmt(
            percentile(
              withCelery.flatMap((r) => r.celery.chains.gaps),
              50,
            ) - hopP50,
          )} | |`,
        ]
      : []),
    '',
  );

  const rabbit = (() => {
    try {
      return (
        /RabbitMQ version: ([\d.]+)/.exec(
          execFileSync('rabbitmqctl', ['status'], { encoding: 'utf8', timeout: 30_000 }),
        )?.[1] ?? '?'
      );
    } catch {
      return '?';
    }
  })();
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const command = `npx nx run orchestrator:bench${opts.quick ? ' -- --quick' : ''}${opts.databaseUrl ? ' --database-url …' : ''}${opts.queueTypes !== DEFAULT_QUEUE_TYPES ? ` --queue-types ${opts.queueTypes}` : ''}${opts.dispatchBaseline ? '' : ' --no-dispatch-baseline'}`;
  const report = [
    `## Results${opts.quick ? ' (quick configuration: tiny sizes, not representative)' : ''}`,
    '',
    `Command: \`${command}\` — ${new Date().toISOString()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, RabbitMQ ${rabbit} (orchestrators in this order: ${runs.map(label).join('; ')}; publisher confirms, persistent messages, manual acks throughout), ${opts.databaseUrl ? 'PostgreSQL' : 'SQLite (WAL)'}; orchestrator, workers, broker, database and Celery share the machine; load average at the end ${load}.`,
    '',
    ...results,
  ].join('\n');
  if (opts.out) {
    const existing = (() => {
      try {
        return readFileSync(opts.out, 'utf8');
      } catch {
        return '';
      }
    })();
    const marker = '<!-- BENCH RESULTS -->';
    const head = existing.includes(marker)
      ? existing.slice(0, existing.indexOf(marker))
      : '# Orchestrator benchmarks\n\n';
    writeFileSync(opts.out, `${head}${marker}\n\n${report}\n`);
  }
  console.log(report);
}

/** Round trips through hop-echo.ts before measuring (JIT, connections). */
const HOP_WARMUP_ROUND_TRIPS = 20;

/** One-way latency of a bare broker hop, measured both ways through hop-echo.ts. */
async function measureBrokerHop(url: string, samples: number): Promise<number[]> {
  const prefix = `orch-bench-${process.pid}-${Date.now().toString(36)}-hop`;
  const connection = await connect(url, { noDelay: true });
  const echo = spawnLogged(
    process.execPath,
    ['--import', 'tsx', join(__dirname, 'hop-echo.ts'), url, `${prefix}-a`, `${prefix}-b`],
    { cwd: ROOT },
  );
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(`${prefix}-a`, { durable: true });
    await channel.assertQueue(`${prefix}-b`, { durable: true });
    await echo.waitForLine(/^ready$/, 60_000);
    const hops: number[] = [];
    let next: (() => void) | undefined;
    await channel.consume(`${prefix}-b`, (message) => {
      if (!message) return;
      const arrivedBack = now();
      const body = JSON.parse(message.content.toString()) as { sent: number; arrived: number };
      channel.ack(message);
      hops.push(body.arrived - body.sent, arrivedBack - body.arrived);
      next?.();
    });
    for (let i = 0; i < samples / 2 + HOP_WARMUP_ROUND_TRIPS; i++) {
      const done = new Promise<void>((resolve) => (next = resolve));
      channel.publish('', `${prefix}-a`, Buffer.from(JSON.stringify({ sent: now() })), {
        persistent: true,
      });
      await done;
    }
    // Two hops per round trip.
    return hops.slice(2 * HOP_WARMUP_ROUND_TRIPS);
  } finally {
    await echo.kill('SIGTERM');
    await connection.close().catch(() => undefined);
    await cleanupBroker(url, prefix);
  }
}

async function dropSchema(url: string, schema: string): Promise<void> {
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await pool.end();
  }
}

/** Deletes this run's queues and exchanges (by prefix; Celery's included). */
async function cleanupBroker(url: string, prefix: string): Promise<void> {
  try {
    const queues = execFileSync(
      'rabbitmqctl',
      ['list_queues', '-q', '--no-table-headers', 'name'],
      { encoding: 'utf8' },
    )
      .split('\n')
      .map((s) => s.trim());
    const exchanges = execFileSync(
      'rabbitmqctl',
      ['list_exchanges', '-q', '--no-table-headers', 'name'],
      { encoding: 'utf8' },
    )
      .split('\n')
      .map((s) => s.trim());
    const conn = await connect(url, { clientProperties: { connection_name: `${prefix}-cleanup` } });
    const ch = await conn.createChannel();
    for (const name of queues.filter((n) => n.startsWith(prefix))) await ch.deleteQueue(name);
    for (const name of exchanges.filter((n) => n.startsWith(prefix))) await ch.deleteExchange(name);
    await conn.close();
  } catch (error) {
    console.error(`broker cleanup failed: ${(error as Error).message}`);
  }
}

if (require.main === module) {
  const program = new Command()
    .option('--quick', 'tiny sizes (seconds, for tests)', false)
    .option('--out <file>', 'write the results section of this markdown file')
    .option('--database-url <url>', 'PostgreSQL instead of SQLite')
    .option(
      '--amqp-url <url>',
      'RabbitMQ',
      process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    )
    .option('--no-celery', 'skip the Celery comparison')
    .option(
      '--no-dispatch-baseline',
      'skip the run of the first queue type with chains off (CHAIN_LINKS=0)',
    )
    .option(
      '--queue-types <list>',
      'step queue types to measure, one orchestrator each (classic = the default, quorum)',
      DEFAULT_QUEUE_TYPES,
    )
    .parse();
  main(program.opts<Options>()).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
