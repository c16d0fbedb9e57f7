/**
 * Where a step's CPU goes: one orchestrator process (SQLite, or PostgreSQL with --database-url),
 * the no-op workers in this process, and two workloads — chains of 10 steps one at a time, then
 * the closed loop of the benchmark's (c) — with the CPU time per step of each party read from
 * /proc: the orchestrator, this process (workers and HTTP clients), every `postgres` process,
 * RabbitMQ (`beam.smp`), and the whole machine; on SQLite also the WAL frames (pages) its commits
 * wrote per step (from the checkpoint thread's count in /debug/vars). With ORCH_CPU_PROF=<dir> in the environment the
 * orchestrator also writes a V8 CPU profile there (harness.ts), to read with any .cpuprofile
 * viewer or `node tools/bench/orchestrator/profile-summary.mjs <file>`.
 *
 *   npx tsx --tsconfig apps/orchestrator/tsconfig.json tools/bench/orchestrator/profile.ts \
 *     [--database-url postgres://postgres@127.0.0.1:5432/test] [--seconds 10] [--chains 30]
 */
import { defineStepHandler } from '@conveyor/worker-sdk';
import { Command } from 'commander';
import pino from 'pino';
import { fmt, loadAverage, measureCpu, sustained, workflows, type CpuSplit } from './harness';
import { noopStep, startRig } from './rig';

/** The orchestrator's ignored-result counters by reason (early, duplicate…), from /metrics. */
async function ignoredResults(base: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^conveyor_\w*ignored\w*\{[^}]*reason="([^"]+)"[^}]*\} (\S+)$/gm))
    out[m[1] ?? ''] = Number(m[2]);
  return out;
}

/**
 * SQLite: WAL frames the orchestrator's checkpoint thread has copied so far (/debug/vars): every
 * frame a commit writes is copied once, so the difference over a workload is the frames its
 * commits wrote, up to the last 250 ms not yet checkpointed. NaN on PostgreSQL.
 */
async function walFrames(base: string): Promise<number> {
  const vars = (await (await fetch(`${base}/debug/vars`)).json()) as {
    walCheckpoints?: { framesCheckpointed?: number };
  };
  return vars.walCheckpoints?.framesCheckpointed ?? NaN;
}

function line(name: string, s: CpuSplit, frames: number): string {
  const per = (ms: number) => fmt(ms / s.steps, 3);
  const orchestrator = s.orchestrators[0] ?? NaN;
  const sum = orchestrator + s.bench + s.postgres + s.rabbitmq;
  const cores = (ms: number) => fmt(ms / s.wallMs);
  // The workers' code is the same on both sides of a comparison: the orchestrator's CPU in units
  // of theirs takes out some of the machine's drift from minute to minute (CPU steal, clocks).
  const relative = fmt(orchestrator / s.bench, 2);
  return `| ${name} | ${fmt((s.steps / s.wallMs) * 1000, 0)} | ${per(orchestrator)} | ${per(s.bench)} | ${relative} | ${per(s.postgres)} | ${per(s.rabbitmq)} | ${per(sum)} | ${cores(s.machineBusy)} / ${cores(s.machineNice)} | ${Number.isNaN(frames) ? '–' : fmt(frames / s.steps, 2)} |`;
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
  const rig = await startRig({
    prefix,
    amqpUrl: opts.amqpUrl,
    databaseUrl: opts.databaseUrl,
    queueType: 'classic',
    chainLinks: 16,
    workflows: workflows(prefix, 10),
    handlers: [
      defineStepHandler<unknown[], unknown[]>({
        queue: `${prefix}-stamp`,
        concurrency: 64,
        handle: async ({ input }) => [...input, { s: 1, e: 2 }],
      }),
      noopStep(prefix),
    ],
    logger,
  });
  try {
    const { harness } = rig;
    const base = rig.bases[0] ?? '';
    const pids = rig.children.map((c) => c.pid ?? 0);
    await Promise.all(Array.from({ length: 20 }, () => harness.run('chain', null)));
    await sustained(harness, 2, opts.concurrency);
    const frames0 = await walFrames(base);
    const seq = await measureCpu(pids, async () => {
      for (let i = 0; i < opts.chains; i++) await harness.run('chain', null);
      return opts.chains * 10;
    });
    // The checkpoint thread copies every 250 ms: wait for it to take the chains' last commits.
    await new Promise((r) => setTimeout(r, 600));
    const frames1 = await walFrames(base);
    const ignored0 = await ignoredResults(base);
    const loop = await measureCpu(pids, async () => {
      if (opts.seconds <= 0) return 1;
      const { completedRuns } = await sustained(harness, opts.seconds, opts.concurrency);
      return completedRuns * 3;
    });
    await new Promise((r) => setTimeout(r, 600));
    const frames2 = await walFrames(base);
    const db = opts.databaseUrl ? 'PostgreSQL' : 'SQLite';
    console.log(`\n${db}, ${new Date().toISOString()}, load average ${loadAverage()}\n`);
    console.log(
      '| workload | steps/s | orchestrator | bench (workers, clients) | orchestrator / bench | postgres | rabbitmq | sum | machine busy / nice (cores) | SQLite WAL frames |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    console.log(line('chains of 10, one at a time', seq, frames1 - frames0));
    if (opts.seconds > 0)
      console.log(
        line(`closed loop, ${opts.concurrency} clients, 3 steps`, loop, frames2 - frames1),
      );
    console.log(`\nignored results after the chains: ${JSON.stringify(ignored0)}`);
    console.log(`ignored results at the end: ${JSON.stringify(await ignoredResults(base))}`);
  } finally {
    await rig.close();
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
