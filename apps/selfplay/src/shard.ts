/**
 * The sharded self-play workflow's steps: `selfplay-shard` plays a range of game ids on this
 * machine's cores (worker threads); `selfplay-aggregate` checks that the shards cover the run
 * without gaps or overlaps, that every game line is a valid record with the id it claims, and
 * merges the logs and outcome counts. src/worker.ts puts them on the bus.
 */
import { availableParallelism } from 'node:os';
import { FatalStepError, defineStepHandler } from '@conveyor/worker-sdk';
import {
  selfplayShardRequestSchema,
  selfplayShardResultSchema,
  type SelfplayShardRequest,
  type SelfplayShardResult,
} from '@conveyor/contracts';
import {
  engineLabel,
  formatRecord,
  parseRecord,
  playGames,
  type GameRecord,
} from '@conveyor/draughts-learning';
import { z } from 'zod';

export interface ShardOptions {
  /** Worker threads for the shard's games (default: this machine's cores). */
  readonly threads?: number;
  /** Called as games finish: (games done, games in the shard). */
  readonly onProgress?: (done: number, total: number) => void;
}

function tally(records: readonly GameRecord[]): {
  whiteWins: number;
  draws: number;
  blackWins: number;
} {
  let whiteWins = 0;
  let draws = 0;
  let blackWins = 0;
  for (const r of records) {
    if (r.result === '1-0') whiteWins++;
    else if (r.result === '0-1') blackWins++;
    else draws++;
  }
  return { whiteWins, draws, blackWins };
}

export async function playShard(
  req: SelfplayShardRequest,
  options: ShardOptions = {},
): Promise<SelfplayShardResult> {
  const cpu0 = process.cpuUsage();
  const ids = Array.from({ length: req.games }, (_, i) => req.firstId + i);
  const records: GameRecord[] = [];
  await playGames(ids, {
    white: { label: engineLabel(req.white.depth), depth: req.white.depth },
    black: { label: engineLabel(req.black.depth), depth: req.black.depth },
    runSeed: req.runSeed,
    maxPlies: req.maxPlies,
    threads: options.threads ?? availableParallelism(),
    // Small chunks keep both threads busy to the end of a small shard.
    chunk: Math.max(1, Math.min(20, Math.ceil(req.games / 8))),
    onGames: (chunk) => {
      records.push(...chunk);
      options.onProgress?.(records.length, req.games);
    },
  });
  records.sort((a, b) => a.id - b.id);
  // Worker threads share the process, so process.cpuUsage covers them too.
  const cpu = process.cpuUsage(cpu0);
  return {
    type: 'selfplay.shard.result',
    version: 1,
    firstId: req.firstId,
    records: records.map(formatRecord),
    ...tally(records),
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

/** Parses a shard's lines, checking each is a valid record with the id its position implies. */
function shardRecords(shard: SelfplayShardResult): GameRecord[] {
  return shard.records.map((line, i) => {
    const parsed = parseRecord(line);
    if (!parsed.ok)
      throw new FatalStepError(
        `shard at game id ${shard.firstId}: line ${i + 1} is not a valid game record: ${parsed.error}`,
        { code: 'BAD_RECORD' },
      );
    if (parsed.record.id !== shard.firstId + i)
      throw new FatalStepError(
        `shard at game id ${shard.firstId}: line ${i + 1} holds game ${parsed.record.id}, expected ${shard.firstId + i}`,
        { code: 'BAD_RECORD' },
      );
    return parsed.record;
  });
}

export function aggregateShards(shards: readonly SelfplayShardResult[]): AggregateResult {
  const sorted = [...shards].sort((a, b) => a.firstId - b.firstId);
  let expected = sorted[0]?.firstId ?? 0;
  let whiteWins = 0;
  let draws = 0;
  let blackWins = 0;
  for (const s of sorted) {
    if (s.firstId !== expected)
      throw new FatalStepError(
        `shards leave a ${s.firstId > expected ? 'gap' : 'overlap'} at game id ${expected} (next shard starts at ${s.firstId}): check the shard ranges`,
        { code: 'SHARD_RANGES' },
      );
    expected = s.firstId + s.records.length;
    // The outcome counts are recomputed from the games, and must agree with what the shard said.
    const t = tally(shardRecords(s));
    if (t.whiteWins !== s.whiteWins || t.draws !== s.draws || t.blackWins !== s.blackWins)
      throw new FatalStepError(
        `shard at game id ${s.firstId} reports +${s.whiteWins} =${s.draws} -${s.blackWins} but its games give +${t.whiteWins} =${t.draws} -${t.blackWins}`,
        { code: 'BAD_COUNTS' },
      );
    whiteWins += t.whiteWins;
    draws += t.draws;
    blackWins += t.blackWins;
  }
  return {
    games: sorted.reduce((a, s) => a + s.records.length, 0),
    whiteWins,
    draws,
    blackWins,
    cpuMs: sorted.reduce((a, s) => a + s.cpuMs, 0),
    jsonl: sorted.flatMap((s) => s.records).join('\n') + '\n',
  };
}

export const SHARD_QUEUE = 'selfplay-shard';
export const AGGREGATE_QUEUE = 'selfplay-aggregate';

export interface SelfplayHandlerOptions {
  /** Prefix of both queue names (tests use their own). */
  readonly queuePrefix?: string;
  /** Worker threads per shard (default: this machine's cores). */
  readonly threads?: number;
}

export function selfplayHandlers(options: SelfplayHandlerOptions = {}) {
  const prefix = options.queuePrefix ?? '';
  return [
    defineStepHandler({
      queue: prefix + SHARD_QUEUE,
      input: selfplayShardRequestSchema,
      output: selfplayShardResultSchema,
      // One shard at a time per process: a shard already keeps every core of the machine busy.
      concurrency: 1,
      // The games run on worker threads, so the event loop is free to send these while they play.
      heartbeatIntervalMs: 5_000,
      handle: async (ctx) => {
        // Progress for the run inspector, at most every 2 s (each heartbeat is a broker message);
        // none at the end, where the result itself follows.
        let last = Date.now();
        return playShard(ctx.input, {
          threads: options.threads,
          onProgress: (done, total) => {
            if (done >= total || Date.now() - last < 2_000) return;
            last = Date.now();
            ctx
              .heartbeat({ progress: done / total, message: `${done}/${total} games` })
              .catch(() => undefined); // a lost heartbeat only delays the inspector's view
          },
        });
      },
    }),
    defineStepHandler({
      queue: prefix + AGGREGATE_QUEUE,
      input: aggregateInputSchema,
      handle: async (ctx) => aggregateShards(ctx.input.shards),
    }),
  ];
}
