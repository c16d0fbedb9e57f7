/**
 * Orchestrator benchmark: (a) per-step orchestration overhead of a 10-step chain of no-op workers
 * at ~200 steps/s, (b) 1,000/10,000-way fan-out time and orchestrator memory, (c) sustained runs/s
 * of a 3-step workflow, (d) the same chain and a chord-style fan-out on Celery, side by side,
 * (e) a bare broker hop, (f) chains of 10 ms steps, and with PostgreSQL (g) one orchestrator
 * replica against two sharing the database and the queues. The report opens with the targets of
 * issue 20 against this run's figures.
 *
 * The orchestrator runs as its own process (so its memory and CPU are measurable) on real
 * RabbitMQ and SQLite (or PostgreSQL with --database-url); the no-op workers run in this process.
 *
 *   npx nx run orchestrator:bench            # full run, writes docs/benchmarks/orchestrator.md
 *   npx nx run orchestrator:bench -- --quick # tiny sizes (what the test runs)
 *   npx nx run orchestrator:bench -- --database-url postgres://127.0.0.1:5432/test
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { QUEUE_TYPES, type QueueType } from '@conveyor/bus';
import { spawnLogged } from '@conveyor/test-support';
import { Command } from 'commander';
import { connect } from 'amqplib';
import pino from 'pino';
import { CeleryPeer } from './celery-peer';
import { cleanupBroker, fmt, loadAverage, now, percentile, ROOT } from './harness';
import { replicaRatios, replicaReport, runReplicas, type ReplicaResult } from './replicas';
import { targetsTable, type TargetInputs } from './targets';
import {
  CHAIN_BLOCK,
  DEFAULT_CHAIN_LINKS,
  runConveyor,
  type ConveyorResult,
  type Options,
  type Sizes,
  type Variant,
} from './conveyor';
const DEFAULT_QUEUE_TYPES = 'classic,quorum';

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
        replicas: { rounds: 1, seconds: 2, concurrency: 16, fanout: 1000, fanoutRounds: 1 },
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
        replicas: { rounds: 3, seconds: 10, concurrency: 64, fanout: 10000, fanoutRounds: 2 },
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

  // (g) one replica against two on the same PostgreSQL, the first variant's configuration.
  const first = variants[0] as Variant;
  const replicas =
    opts.databaseUrl && opts.replicas
      ? await runReplicas(
          q.replicas,
          opts.databaseUrl,
          opts.amqpUrl,
          first.queueType,
          first.chainLinks,
          logger,
        )
      : undefined;

  // (e) the floor: one bare broker hop between two processes.
  const hop = await measureBrokerHop(opts.amqpUrl, q.seqChains * (q.chainLength - 1));

  const label = (r: { variant: Variant }) =>
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
    ...(replicas ? replicaReport(replicas, label({ variant: first })) : []),
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
  const load = loadAverage();
  const args = [
    ...(opts.quick ? ['--quick'] : []),
    // The URL as given, without a password if it has one.
    ...(opts.databaseUrl ? [`--database-url ${opts.databaseUrl.replace(/:[^:@/]*@/, ':…@')}`] : []),
    ...(opts.queueTypes !== DEFAULT_QUEUE_TYPES ? [`--queue-types ${opts.queueTypes}`] : []),
    ...(opts.dispatchBaseline ? [] : ['--no-dispatch-baseline']),
    ...(opts.databaseUrl && !opts.replicas ? ['--no-replicas'] : []),
    ...(opts.celery ? [] : ['--no-celery']),
  ];
  const command = `npx nx run orchestrator:bench${args.length ? ` -- ${args.join(' ')}` : ''}`;
  const report = [
    `## Results${opts.quick ? ' (quick configuration: tiny sizes, not representative)' : ''}`,
    '',
    `Command: \`${command}\` — ${new Date().toISOString()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, RabbitMQ ${rabbit} (orchestrators in this order: ${runs.map(label).join('; ')}; publisher confirms, persistent messages, manual acks throughout), ${opts.databaseUrl ? 'PostgreSQL' : 'SQLite (WAL)'}; orchestrator, workers, broker, database and Celery share the machine; load average at the end ${load}.`,
    '',
    ...targetsTable(targetInputs(opts, runs[0] as ConveyorResult, label, replicas)),
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

/** The first variant's figures (the default configuration unless --queue-types says otherwise). */
function targetInputs(
  opts: Options,
  r: ConveyorResult,
  label: (r: ConveyorResult) => string,
  replicas: ReplicaResult | undefined,
): TargetInputs {
  const largest = r.fanRows.reduce<ConveyorResult['fanRows'][number] | undefined>(
    (a, b) => (a && a.n >= b.n ? a : b),
    undefined,
  );
  return {
    label: label(r),
    postgres: opts.databaseUrl !== undefined,
    cpuPerStepMs: r.orchestratorCpuPerStepMs,
    stepsPerSecond: r.runsPerSecond * 3,
    fanout: largest && { n: largest.n, itemsPerSecond: largest.n / (largest.ms / 1000) },
    celery: r.celery && {
      p50: percentile(r.celery.chains.gaps, 50) / percentile(r.seqGaps, 50),
      p99: percentile(r.celery.chains.gaps, 99) / percentile(r.seqGaps, 99),
      run: percentile(r.celery.chains.runs, 50) / percentile(r.seqRuns, 50),
    },
    replicas: replicas
      ? replicaRatios(replicas)
      : {
          skipped: !opts.databaseUrl
            ? 'PostgreSQL only (run with `--database-url`)'
            : 'not measured (`--no-replicas`)',
        },
  };
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
      '--no-replicas',
      'with --database-url, skip (g): one orchestrator replica against two on the same database',
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
