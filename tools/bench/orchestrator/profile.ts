/**
 * Where a step's CPU goes: one orchestrator process (SQLite, or PostgreSQL with --database-url),
 * the no-op workers in this process, and two workloads — chains of 10 steps one at a time, then
 * the closed loop of the benchmark's (c) — with the CPU time per step of each party read from
 * /proc: the orchestrator, this process (workers and HTTP clients), every `postgres` process,
 * RabbitMQ (`beam.smp`), and the whole machine. With ORCH_CPU_PROF=<dir> in the environment the
 * orchestrator also writes a V8 CPU profile there (harness.ts), to read with any .cpuprofile
 * viewer or `node tools/bench/orchestrator/profile-summary.mjs <file>`.
 *
 *   npx tsx --tsconfig apps/orchestrator/tsconfig.json tools/bench/orchestrator/profile.ts \
 *     [--database-url postgres://postgres@127.0.0.1:5432/test] [--seconds 10] [--chains 30]
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBus, type Bus } from '@conveyor/bus';
import { freePort } from '@conveyor/test-support';
import { defineStepHandler, runEventsTopic, startStepWorker } from '@conveyor/worker-sdk';
import { Command } from 'commander';
import pino from 'pino';
import {
  cleanupBroker,
  cpuByName,
  cpuByNameDelta,
  cpuMs,
  dropSchema,
  fmt,
  Harness,
  loadAverage,
  machineCpu,
  schemaOf,
  startOrchestrator,
  stopOrchestrator,
  sustained,
  workflows,
} from './harness';

/** The orchestrator's ignored-result counters by reason (early, duplicate…), from /metrics. */
async function ignoredResults(base: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^conveyor_\w*ignored\w*\{[^}]*reason="([^"]+)"[^}]*\} (\S+)$/gm))
    out[m[1] ?? ''] = Number(m[2]);
  return out;
}

interface Split {
  steps: number;
  wallMs: number;
  orchestrator: number;
  bench: number;
  postgres: number;
  rabbitmq: number;
  machineBusy: number;
  machineNice: number;
}

/** CPU of every party while `work` runs; `work` returns the steps it carried. */
async function measure(pid: number, work: () => Promise<number>): Promise<Split> {
  const o0 = cpuMs(pid);
  const b0 = process.cpuUsage();
  const p0 = cpuByName('postgres');
  const r0 = cpuByName('beam.smp');
  const m0 = machineCpu();
  const t0 = performance.now();
  const steps = await work();
  const wallMs = performance.now() - t0;
  const b1 = process.cpuUsage(b0);
  const m1 = machineCpu();
  return {
    steps,
    wallMs,
    orchestrator: cpuMs(pid) - o0,
    bench: (b1.user + b1.system) / 1000,
    postgres: cpuByNameDelta(p0, cpuByName('postgres')),
    rabbitmq: cpuByNameDelta(r0, cpuByName('beam.smp')),
    machineBusy: (m1.busy - m0.busy) / wallMs,
    machineNice: (m1.nice - m0.nice) / wallMs,
  };
}

function line(name: string, s: Split): string {
  const per = (ms: number) => fmt(ms / s.steps, 3);
  const sum = s.orchestrator + s.bench + s.postgres + s.rabbitmq;
  return `| ${name} | ${fmt((s.steps / s.wallMs) * 1000, 0)} | ${per(s.orchestrator)} | ${per(s.bench)} | ${per(s.postgres)} | ${per(s.rabbitmq)} | ${per(sum)} | ${fmt(s.machineBusy)} / ${fmt(s.machineNice)} |`;
}

async function main(opts: {
  databaseUrl?: string;
  amqpUrl: string;
  seconds: number;
  chains: number;
  concurrency: number;
}): Promise<void> {
  const logger = pino({ level: 'warn' });
  const prefix = `orch-prof-${process.pid}-${Date.now().toString(36)}`;
  const workDir = mkdtempSync(join(tmpdir(), 'orch-prof-'));
  const wfDir = join(workDir, 'workflows');
  execFileSync('mkdir', ['-p', wfDir]);
  for (const [name, text] of Object.entries(workflows(prefix, 10)))
    writeFileSync(join(wfDir, name), text);
  let orchestrator: ChildProcess | undefined;
  let bus: Bus | undefined;
  try {
    const started = await startOrchestrator(
      {
        prefix,
        amqpUrl: opts.amqpUrl,
        ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
        dataDir: join(workDir, 'data'),
        workflowsDir: wfDir,
        queueType: 'classic',
        chainLinks: 16,
      },
      await freePort(),
    );
    orchestrator = started.child;
    const pid = orchestrator.pid ?? 0;
    const harness = new Harness([started.base]);
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
      queueType: 'classic',
      handlers: [
        defineStepHandler<unknown[], unknown[]>({
          queue: `${prefix}-stamp`,
          concurrency: 64,
          handle: async ({ input }) => [...input, { s: 1, e: 2 }],
        }),
        defineStepHandler({
          queue: `${prefix}-noop`,
          concurrency: 256,
          handle: async ({ input }) => input,
        }),
      ],
    });
    await Promise.all(Array.from({ length: 20 }, () => harness.run('chain', null)));
    await sustained(harness, 2, opts.concurrency);
    const seq = await measure(pid, async () => {
      for (let i = 0; i < opts.chains; i++) await harness.run('chain', null);
      return opts.chains * 10;
    });
    const ignored0 = await ignoredResults(started.base);
    const loop = await measure(pid, async () => {
      if (opts.seconds <= 0) return 1;
      const { completedRuns } = await sustained(harness, opts.seconds, opts.concurrency);
      return completedRuns * 3;
    });
    await worker.close();
    const db = opts.databaseUrl ? 'PostgreSQL' : 'SQLite';
    console.log(`\n${db}, ${new Date().toISOString()}, load average ${loadAverage()}\n`);
    console.log(
      '| workload | steps/s | orchestrator | bench (workers, clients) | postgres | rabbitmq | sum | machine busy / nice (cores) |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    console.log(line('chains of 10, one at a time', seq));
    if (opts.seconds > 0)
      console.log(line(`closed loop, ${opts.concurrency} clients, 3 steps`, loop));
    console.log(`\nignored results after the chains: ${JSON.stringify(ignored0)}`);
    console.log(
      `ignored results at the end: ${JSON.stringify(await ignoredResults(started.base))}`,
    );
  } finally {
    if (orchestrator) await stopOrchestrator(orchestrator);
    await bus?.close();
    await cleanupBroker(opts.amqpUrl, prefix);
    if (opts.databaseUrl) await dropSchema(opts.databaseUrl, schemaOf(prefix));
    rmSync(workDir, { recursive: true, force: true });
  }
}

const program = new Command()
  .option('--database-url <url>', 'PostgreSQL instead of SQLite')
  .option('--amqp-url <url>', 'RabbitMQ', 'amqp://guest:guest@127.0.0.1:5672')
  .option('--seconds <n>', 'closed-loop seconds', (v) => Number(v), 10)
  .option('--chains <n>', 'sequential chains of 10', (v) => Number(v), 30)
  .option('--concurrency <n>', 'closed-loop clients', (v) => Number(v), 64)
  .parse();
main(program.opts()).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
