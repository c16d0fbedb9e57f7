/**
 * One orchestrator process on one step-queue type and chain setting, the no-op workers in this
 * process, and every per-configuration measurement of the benchmark: (a) overhead per step,
 * (b) fan-out, (c) sustained throughput, and (f) steps that take time — with Celery's chains
 * taking turns with (a) and (f) when a CeleryPeer is given.
 */
import type { QueueType } from '@conveyor/bus';
import { defineStepHandler } from '@conveyor/worker-sdk';
import type pino from 'pino';
import type { CeleryPeer, ChainSamples } from './celery-peer';
import { cpuMs, fanOut, now, rssMiB, sustained, workflows } from './harness';
import type { ReplicaSizes } from './replicas';
import { noopStep, startRig } from './rig';

/** What the orchestrator uses unless CHAIN_LINKS says otherwise (engine.ts). */
export const DEFAULT_CHAIN_LINKS = 16;
/** Sequential chains per block when Conveyor and Celery take turns (see CeleryPeer). */
export const CHAIN_BLOCK = 10;

export interface Options {
  quick: boolean;
  out?: string;
  databaseUrl?: string;
  amqpUrl: string;
  celery: boolean;
  queueTypes: string;
  /** Also measure the first queue type with chains off (CHAIN_LINKS=0), side by side. */
  dispatchBaseline: boolean;
  /** With --database-url: (g) one orchestrator replica against two on the same database. */
  replicas: boolean;
}

/** One orchestrator configuration: step queue type, and how many chain links requests carry. */
export interface Variant {
  readonly queueType: QueueType;
  readonly chainLinks: number;
}

/** What one orchestrator (one queue type) measured. */
export interface ConveyorResult {
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

export interface Stamp {
  s: number;
  e: number;
}

/** Appends Celery samples of one block to a variant's. */
export function append(to: ChainSamples, more: ChainSamples): void {
  to.gaps.push(...more.gaps);
  to.runs.push(...more.runs);
}

export type Sizes = {
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
  replicas: ReplicaSizes;
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
export async function runConveyor(
  opts: Options,
  q: Sizes,
  variant: Variant,
  logger: pino.Logger,
  celeryPeer: CeleryPeer | undefined,
): Promise<ConveyorResult> {
  const { queueType } = variant;
  const prefix = `orch-bench-${process.pid}-${Date.now().toString(36)}-${queueType}-${variant.chainLinks}`;
  const rig = await startRig({
    prefix,
    amqpUrl: opts.amqpUrl,
    databaseUrl: opts.databaseUrl,
    queueType,
    chainLinks: variant.chainLinks,
    workflows: workflows(prefix, q.chainLength),
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
      noopStep(prefix),
    ],
    logger,
  });
  try {
    const { harness } = rig;
    const base = rig.bases[0] ?? '';
    const orchestratorPid = rig.children[0]?.pid ?? 0;

    // Warm-up (JIT, connections, SQLite page cache): a server runs warm, and without this V8's
    // optimising compiler (its threads count in the orchestrator's CPU) and first-time costs fell
    // on the one-at-a-time chains measured next — 0.75–0.95 ms of CPU per step after 10 chains
    // of warm-up against 0.44 in a warm process on the same machine (7 Dec, 23:20 UTC).
    await Promise.all(Array.from({ length: 10 }, () => harness.run('chain', null)));
    await sustained(harness, Math.min(2, q.throughputSeconds / 5), q.throughputConcurrency);
    for (let i = 0; i < 20; i++) await harness.run('chain', null);

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
      const cpu0 = cpuMs(orchestratorPid);
      for (let i = 0; i < block; i++) {
        const { ms, output, t0, t1 } = await harness.run('chain', null);
        const stamps = output as Stamp[];
        seqRuns.push(ms);
        seqFirst.push((stamps[0]?.s ?? NaN) - t0);
        seqLast.push(t1 - (stamps[stamps.length - 1]?.e ?? NaN));
        for (let k = 1; k < stamps.length; k++)
          seqGaps.push((stamps[k]?.s ?? NaN) - (stamps[k - 1]?.e ?? NaN));
      }
      orchestratorCpu += cpuMs(orchestratorPid) - cpu0;
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
    const { completedRuns, runsPerSecond } = await sustained(
      harness,
      q.throughputSeconds,
      q.throughputConcurrency,
    );

    // (b) fan-out: time to completion and orchestrator memory (RSS sampled every 50 ms).
    const fanRows: ConveyorResult['fanRows'] = [];
    for (const n of q.fanouts) {
      const pid = orchestratorPid;
      const baseline = rssMiB(pid);
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 50);
      const ms = await fanOut(harness, n).finally(() => clearInterval(sampler));
      peak = Math.max(peak, rssMiB(pid));
      fanRows.push({ n, ms, baseline, peak });
    }
    const chordMs = fanRows.find((r) => r.n === q.chord)?.ms ?? (await fanOut(harness, q.chord));

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
    await rig.close();
  }
}
