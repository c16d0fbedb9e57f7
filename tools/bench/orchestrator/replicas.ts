/**
 * (g) One orchestrator replica against two on one PostgreSQL database: sustained throughput of
 * the 3-step workflow and a fan-out, with the CPU each process spends per step.
 *
 * Two groups run side by side for the whole section, each with its own queues and schema: one
 * orchestrator process, and two sharing their database schema, result queue and step queues
 * (what `test/replicas.spec.ts` runs in one process, here as separate processes on their own
 * HTTP ports). The groups take turns, alternating which goes first each round, so that both see
 * the same drift of this shared machine. Runs are started over HTTP round robin over a group's
 * replicas; completion comes from `run.completed` events, published by whichever replica
 * completed the run.
 */
import type { QueueType } from '@conveyor/bus';
import type pino from 'pino';
import { fanOut, fmt, measureCpu, median, sustained, workflows, type CpuSplit } from './harness';
import { noopStep, startRig, type Rig } from './rig';

export interface ReplicaSizes {
  /** Rounds of the closed loop per group (each `seconds` long, `concurrency` clients). */
  rounds: number;
  seconds: number;
  concurrency: number;
  fanout: number;
  fanoutRounds: number;
}

export interface GroupResult {
  replicas: number;
  /** Steps per second of each closed-loop round. */
  stepsPerSecond: number[];
  /** Items per second of each fan-out. */
  itemsPerSecond: number[];
  /** What each party spent over all of a group's rounds (orchestrators: one per replica). */
  sustainedCpu: CpuSplit;
  fanoutCpu: CpuSplit;
}

export interface ReplicaResult {
  sizes: ReplicaSizes;
  one: GroupResult;
  two: GroupResult;
}

const emptySplit = (replicas: number): CpuSplit => ({
  steps: 0,
  wallMs: 0,
  orchestrators: Array.from({ length: replicas }, () => 0),
  bench: 0,
  postgres: 0,
  rabbitmq: 0,
  machineBusy: 0,
  machineNice: 0,
});

interface Group extends Rig {
  readonly replicas: number;
}

async function startGroup(
  replicas: number,
  databaseUrl: string,
  amqpUrl: string,
  queueType: QueueType,
  chainLinks: number,
  logger: pino.Logger,
): Promise<Group> {
  const prefix = `orch-bench-${process.pid}-${Date.now().toString(36)}-r${replicas}`;
  const all = workflows(prefix, 1);
  const rig = await startRig({
    prefix,
    amqpUrl,
    databaseUrl,
    queueType,
    chainLinks,
    workflows: { 'three.yaml': all['three.yaml'] ?? '', 'fan.yaml': all['fan.yaml'] ?? '' },
    replicas,
    handlers: [noopStep(prefix)],
    logger,
  });
  try {
    // Warm-up (JIT, pooled connections on every replica).
    await Promise.all(
      Array.from({ length: 8 * replicas }, () => rig.harness.run('three', { x: 1 })),
    );
    await fanOut(rig.harness, 100);
    return { ...rig, replicas };
  } catch (error) {
    await rig.close();
    throw error;
  }
}

/** Runs `work` (which returns the steps it carried) and adds what every party spent to `into`. */
async function measured(
  group: Group,
  into: CpuSplit,
  work: () => Promise<number>,
): Promise<{ steps: number; wallMs: number }> {
  const split = await measureCpu(
    group.children.map((c) => c.pid ?? 0),
    work,
  );
  into.steps += split.steps;
  into.wallMs += split.wallMs;
  split.orchestrators.forEach(
    (ms, i) => (into.orchestrators[i] = (into.orchestrators[i] ?? 0) + ms),
  );
  into.bench += split.bench;
  into.postgres += split.postgres;
  into.rabbitmq += split.rabbitmq;
  into.machineBusy += split.machineBusy;
  into.machineNice += split.machineNice;
  return { steps: split.steps, wallMs: split.wallMs };
}

export async function runReplicas(
  sizes: ReplicaSizes,
  databaseUrl: string,
  amqpUrl: string,
  queueType: QueueType,
  chainLinks: number,
  logger: pino.Logger,
): Promise<ReplicaResult> {
  const groups: Group[] = [];
  try {
    for (const replicas of [1, 2])
      groups.push(await startGroup(replicas, databaseUrl, amqpUrl, queueType, chainLinks, logger));
    const results = groups.map((g): GroupResult => ({
      replicas: g.replicas,
      stepsPerSecond: [],
      itemsPerSecond: [],
      sustainedCpu: emptySplit(g.replicas),
      fanoutCpu: emptySplit(g.replicas),
    }));
    // Alternate which group goes first, so that neither always follows the other's backlog.
    const order = (round: number) => (round % 2 === 0 ? [0, 1] : [1, 0]);
    for (let round = 0; round < sizes.rounds; round++)
      for (const i of order(round)) {
        const group = groups[i] as Group;
        const result = results[i] as GroupResult;
        const { steps, wallMs } = await measured(group, result.sustainedCpu, async () => {
          const { completedRuns } = await sustained(
            group.harness,
            sizes.seconds,
            sizes.concurrency,
          );
          return completedRuns * 3;
        });
        result.stepsPerSecond.push(steps / (wallMs / 1000));
      }
    for (let round = 0; round < sizes.fanoutRounds; round++)
      for (const i of order(round)) {
        const group = groups[i] as Group;
        const result = results[i] as GroupResult;
        let ms = NaN;
        // The items and the step over the joined list.
        await measured(group, result.fanoutCpu, async () => {
          ms = await fanOut(group.harness, sizes.fanout);
          return sizes.fanout + 1;
        });
        result.itemsPerSecond.push(sizes.fanout / (ms / 1000));
      }
    return { sizes, one: results[0] as GroupResult, two: results[1] as GroupResult };
  } finally {
    for (const group of groups) await group.close();
  }
}

const list = (values: number[]) => values.map((v) => fmt(v, 0)).join(', ');

/** Two / one of the medians: sustained steps/s and fan-out items/s. */
export function replicaRatios(r: ReplicaResult): { sustained: number; fanout: number } {
  return {
    sustained: median(r.two.stepsPerSecond) / median(r.one.stepsPerSecond),
    fanout: median(r.two.itemsPerSecond) / median(r.one.itemsPerSecond),
  };
}

export function replicaReport(r: ReplicaResult, variantLabel: string): string[] {
  const ratios = replicaRatios(r);
  const perStep = (ms: number, split: CpuSplit) => fmt(ms / split.steps, 3);
  const cores = (ms: number, split: CpuSplit) => fmt(ms / split.wallMs, 2);
  const cpuRow = (workload: string, g: GroupResult, split: CpuSplit) =>
    `| ${workload} | ${g.replicas} | ${fmt(split.steps / (split.wallMs / 1000), 0)} | ${split.orchestrators.map((ms) => perStep(ms, split)).join(' + ')} | ${perStep(
      split.orchestrators.reduce((a, b) => a + b, 0),
      split,
    )} | ${perStep(split.bench, split)} | ${perStep(split.postgres, split)} | ${perStep(split.rabbitmq, split)} | ${cores(split.machineBusy, split)} | ${cores(split.machineNice, split)} |`;
  return [
    `### (g) One orchestrator replica vs two on one PostgreSQL database (${variantLabel}), same run, taking turns`,
    '',
    `Two groups side by side, each with its own queues and schema: one orchestrator process, and two processes sharing one schema, the result queue and the step queues (each on its own HTTP port; runs started round robin over them; completion from \`run.completed\` events). The groups take turns, alternating which goes first: ${r.sizes.rounds} closed-loop rounds each (${r.sizes.concurrency} clients, 3-step workflow, ${r.sizes.seconds} s), then ${r.sizes.fanoutRounds} fan-out${r.sizes.fanoutRounds > 1 ? 's' : ''} of ${r.sizes.fanout} each. The no-op workers of both groups and the clients are this benchmark process. Two / one compares the medians.`,
    '',
    '| measure | one replica (median; each round) | two replicas (median; each round) | two / one |',
    '| --- | ---: | ---: | ---: |',
    `| sustained 3-step workflow, steps/s | ${fmt(median(r.one.stepsPerSecond), 0)} (${list(r.one.stepsPerSecond)}) | ${fmt(median(r.two.stepsPerSecond), 0)} (${list(r.two.stepsPerSecond)}) | ${fmt(ratios.sustained)} |`,
    `| fan-out of ${r.sizes.fanout}, items/s | ${fmt(median(r.one.itemsPerSecond), 0)} (${list(r.one.itemsPerSecond)}) | ${fmt(median(r.two.itemsPerSecond), 0)} (${list(r.two.itemsPerSecond)}) | ${fmt(ratios.fanout)} |`,
    '',
    'Where the CPU went, per step carried (ms of CPU, user + system, from /proc; all rounds of a group together). "Machine" = the whole machine in cores (of 2): at normal priority, and at nice > 0 (the model training at nice 19, which takes what is left). PostgreSQL counts every `postgres` process on the machine, so another engineer\'s use of the server at the same time is in it too.',
    '',
    '| workload | replicas | steps/s | orchestrator CPU per step, each replica | orchestrators together | bench process (workers + clients) | PostgreSQL | RabbitMQ | machine busy, normal priority (cores) | machine, nice (cores) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    cpuRow('sustained 3-step', r.one, r.one.sustainedCpu),
    cpuRow('sustained 3-step', r.two, r.two.sustainedCpu),
    cpuRow(`fan-out of ${r.sizes.fanout}`, r.one, r.one.fanoutCpu),
    cpuRow(`fan-out of ${r.sizes.fanout}`, r.two, r.two.fanoutCpu),
    '',
  ];
}
