import { z } from 'zod';
import { defineContract, messageHeader, type Contract } from './contract';

/**
 * Self-play sharding: a workflow splits a large self-play run into shards (disjoint game-id
 * ranges); each `selfplay-shard` worker plays its range and returns the game records inline
 * (one compact JSON line per game, ~200 bytes: see libs/draughts-learning/src/game-log.ts),
 * and an aggregate step merges them. Game seeds derive from (runSeed, game id), so any machine
 * replays any shard identically and a retried shard returns the same games.
 */

const engineSchema = z.object({
  /** Search depth in plies. */
  depth: z.number().int().min(1).max(12),
});

export const selfplayShardRequestSchema = z.object({
  ...messageHeader('selfplay.shard.request', 1),
  runSeed: z.number().int().min(0).max(4_294_967_295),
  /** First game id of the shard. */
  firstId: z.number().int().min(0),
  /** Games in the shard; bounded so one step's result stays a modest message. */
  games: z.number().int().min(1).max(5000),
  white: engineSchema,
  black: engineSchema,
  /** Plies after which a game is adjudicated a draw. */
  maxPlies: z.number().int().min(10).max(1000).default(300),
});
export type SelfplayShardRequest = z.infer<typeof selfplayShardRequestSchema>;

const gameLineSchema = z
  .string()
  .min(10)
  .max(4000)
  .startsWith('{"v":1,', 'must be a version-1 game record line (JSON starting with {"v":1,)');

export const selfplayShardResultSchema = z.object({
  ...messageHeader('selfplay.shard.result', 1),
  firstId: z.number().int().min(0),
  /** One JSONL game record per game, in id order. */
  records: z.array(gameLineSchema).max(5000),
  /** Outcome counts of the shard, from White's side. */
  whiteWins: z.number().int().min(0),
  draws: z.number().int().min(0),
  blackWins: z.number().int().min(0),
  /** CPU milliseconds the shard took, for throughput accounting across machines. */
  cpuMs: z.number().min(0),
});
export type SelfplayShardResult = z.infer<typeof selfplayShardResultSchema>;

const exampleShardRequest: z.input<typeof selfplayShardRequestSchema> = {
  type: 'selfplay.shard.request',
  version: 1,
  runSeed: 1,
  firstId: 2000,
  games: 1000,
  white: { depth: 4 },
  black: { depth: 4 },
  maxPlies: 300,
};

const exampleShardResult: z.input<typeof selfplayShardResultSchema> = {
  type: 'selfplay.shard.result',
  version: 1,
  firstId: 0,
  records: [
    '{"v":1,"id":0,"seed":2671124102,"white":"d4","black":"d4","moves":"0404","result":"1/2-1/2","reason":"ply-cap","plies":2,"final":"W:W1,2:B31,32"}',
  ],
  whiteWins: 0,
  draws: 1,
  blackWins: 0,
  cpuMs: 31.5,
};

export const selfplayShardRequestContract = defineContract({
  type: 'selfplay.shard.request',
  version: 1,
  description:
    'Asks a selfplay-shard worker to play game ids firstId … firstId + games - 1 between two engine settings.',
  schema: selfplayShardRequestSchema,
  examples: [
    exampleShardRequest,
    { ...exampleShardRequest, firstId: 0, games: 1, white: { depth: 6 }, black: { depth: 2 } },
  ],
  invalidExamples: [
    { value: { ...exampleShardRequest, games: 0 }, field: 'games' },
    { value: { ...exampleShardRequest, games: 100_000 }, field: 'games' },
    { value: { ...exampleShardRequest, white: { depth: 0 } }, field: 'white' },
    { value: { ...exampleShardRequest, firstId: -1 }, field: 'firstId' },
    { value: { ...exampleShardRequest, version: 2 }, field: 'version' },
  ],
});

export const selfplayShardResultContract = defineContract({
  type: 'selfplay.shard.result',
  version: 1,
  description:
    'The games of one self-play shard as JSONL game-record lines, with outcome counts and CPU time.',
  schema: selfplayShardResultSchema,
  examples: [exampleShardResult, { ...exampleShardResult, records: [], draws: 0 }],
  invalidExamples: [
    { value: { ...exampleShardResult, records: ['not a record'] }, field: 'records' },
    { value: { ...exampleShardResult, draws: -1 }, field: 'draws' },
    { value: { ...exampleShardResult, type: 'selfplay.shard.request' }, field: 'type' },
  ],
});

export const selfplayContracts: readonly Contract[] = [
  selfplayShardRequestContract,
  selfplayShardResultContract,
];
