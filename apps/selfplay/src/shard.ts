/**
 * The sharded self-play workflow's steps: `selfplay-shard` plays a range of game ids on this
 * machine's cores; `selfplay-aggregate` checks the shards cover the run without gaps or overlaps
 * and adds up the outcomes. Pure functions here; src/worker.ts puts them on the bus.
 */
import { FatalStepError, defineStepHandler } from '@conveyor/worker-sdk';
import {
  selfplayShardRequestSchema,
  selfplayShardResultSchema,
  type SelfplayShardRequest,
  type SelfplayShardResult,
} from '@conveyor/contracts';
import { engineLabel, formatRecord, gameSeed, playSelfPlayGame } from '@conveyor/draughts-learning';
import { z } from 'zod';

export function playShard(req: SelfplayShardRequest): SelfplayShardResult {
  const cpu0 = process.cpuUsage();
  const records: string[] = [];
  let whiteWins = 0;
  let draws = 0;
  let blackWins = 0;
  for (let id = req.firstId; id < req.firstId + req.games; id++) {
    const r = playSelfPlayGame({
      white: { label: engineLabel(req.white.depth), depth: req.white.depth },
      black: { label: engineLabel(req.black.depth), depth: req.black.depth },
      id,
      seed: gameSeed(req.runSeed, id),
      maxPlies: req.maxPlies,
    });
    if (r.result === '1-0') whiteWins++;
    else if (r.result === '0-1') blackWins++;
    else draws++;
    records.push(formatRecord(r));
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    type: 'selfplay.shard.result',
    version: 1,
    firstId: req.firstId,
    records,
    whiteWins,
    draws,
    blackWins,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

export const aggregateInputSchema = z.object({ shards: z.array(selfplayShardResultSchema).min(1) });

export interface AggregateResult {
  readonly games: number;
  readonly whiteWins: number;
  readonly draws: number;
  readonly blackWins: number;
  readonly cpuMs: number;
  /** The merged log (JSONL), in id order. */
  readonly jsonl: string;
}

export function aggregateShards(shards: readonly SelfplayShardResult[]): AggregateResult {
  const sorted = [...shards].sort((a, b) => a.firstId - b.firstId);
  let expected = sorted[0]?.firstId ?? 0;
  for (const s of sorted) {
    if (s.firstId !== expected)
      throw new FatalStepError(
        `shards leave a ${s.firstId > expected ? 'gap' : 'overlap'} at game id ${expected} (next shard starts at ${s.firstId}): check the shard ranges`,
        { code: 'SHARD_RANGES' },
      );
    expected = s.firstId + s.records.length;
  }
  const sum = (k: 'whiteWins' | 'draws' | 'blackWins' | 'cpuMs'): number =>
    sorted.reduce((a, s) => a + s[k], 0);
  return {
    games: sorted.reduce((a, s) => a + s.records.length, 0),
    whiteWins: sum('whiteWins'),
    draws: sum('draws'),
    blackWins: sum('blackWins'),
    cpuMs: sum('cpuMs'),
    jsonl: sorted.flatMap((s) => s.records).join('\n') + '\n',
  };
}

export const SHARD_QUEUE = 'selfplay-shard';
export const AGGREGATE_QUEUE = 'selfplay-aggregate';

export function selfplayHandlers(queuePrefix = '') {
  return [
    defineStepHandler({
      queue: queuePrefix + SHARD_QUEUE,
      input: selfplayShardRequestSchema,
      output: selfplayShardResultSchema,
      concurrency: 1, // one shard at a time: a shard already keeps a core busy for minutes
      heartbeatIntervalMs: 5_000,
      handle: async (ctx) => playShard(ctx.input),
    }),
    defineStepHandler({
      queue: queuePrefix + AGGREGATE_QUEUE,
      input: aggregateInputSchema,
      handle: async (ctx) => aggregateShards(ctx.input.shards),
    }),
  ];
}
