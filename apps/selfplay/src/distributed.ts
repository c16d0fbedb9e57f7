/**
 * Client side of the sharded self-play workflow (workflows/selfplay.yaml): splits a run into
 * game-id ranges, starts the workflow over the orchestrator's HTTP API and waits for it.
 *
 * The start carries an idempotency key derived from the run's parameters, so running the same
 * command again (after a lost connection, a Ctrl-C) attaches to the run already in progress
 * instead of playing everything twice.
 */
import { TerminalRunStatus } from '@conveyor/contracts';
import { z } from 'zod';

export const WORKFLOW = 'selfplay';
/** The shard contract's bound on games per shard (libs/contracts/src/selfplay.ts). */
export const MAX_SHARD_GAMES = 5000;

export interface ShardRange {
  readonly firstId: number;
  readonly games: number;
}

/** `games` ids from `firstId` in `shards` contiguous ranges whose sizes differ by at most one. */
export function splitShards(games: number, shards: number, firstId = 0): ShardRange[] {
  if (!Number.isInteger(games) || games < 1)
    throw new Error(`games must be a positive integer, got ${games}`);
  if (!Number.isInteger(shards) || shards < 1 || shards > games)
    throw new Error(`shards must be an integer from 1 to games (${games}), got ${shards}`);
  const size = Math.ceil(games / shards);
  if (size > MAX_SHARD_GAMES)
    throw new Error(
      `${games} games in ${shards} shards is ${size} games per shard, above the contract's ${MAX_SHARD_GAMES}: use at least ${Math.ceil(games / MAX_SHARD_GAMES)} shards`,
    );
  const out: ShardRange[] = [];
  let next = firstId;
  for (let i = 0; i < shards; i++) {
    const n = Math.floor(games / shards) + (i < games % shards ? 1 : 0);
    out.push({ firstId: next, games: n });
    next += n;
  }
  return out;
}

export interface DistributedRunInput {
  readonly runSeed: number;
  readonly depth: number;
  readonly maxPlies: number;
  readonly shards: readonly ShardRange[];
}

/** The workflow's output (see `output:` in workflows/selfplay.yaml). */
export const distributedOutputSchema = z.object({
  games: z.number().int().min(0),
  whiteWins: z.number().int().min(0),
  draws: z.number().int().min(0),
  blackWins: z.number().int().min(0),
  cpuMs: z.number().min(0),
  jsonl: z.string(),
});
export type DistributedOutput = z.infer<typeof distributedOutputSchema>;

const runResponseSchema = z.object({
  run: z.object({
    id: z.string(),
    status: z.string(),
    durationMs: z.number().nullable().optional(),
    output: z.unknown().optional(),
    error: z.object({ message: z.string() }).passthrough().nullable().optional(),
    steps: z
      .array(
        z
          .object({
            step: z.string(),
            attempts: z.array(z.object({ workerId: z.string().nullable() }).passthrough()),
            items: z
              .array(
                z
                  .object({
                    attempts: z.array(z.object({ workerId: z.string().nullable() }).passthrough()),
                  })
                  .passthrough(),
              )
              .optional(),
          })
          .passthrough(),
      )
      .optional(),
  }),
});

export interface DistributedResult {
  readonly runId: string;
  readonly output: DistributedOutput;
  /** Distinct workers that played shards (from the run's attempts, first 200 shards). */
  readonly shardWorkers: readonly string[];
  readonly wallMs: number;
}

export function idempotencyKey(input: DistributedRunInput): string {
  const ranges = input.shards.map((s) => `${s.firstId}+${s.games}`).join(',');
  const key = `selfplay:seed=${input.runSeed}:d=${input.depth}:maxPlies=${input.maxPlies}:${ranges}`;
  // The API bounds keys to 500 characters; many shards are summarised by count and extent.
  if (key.length <= 500) return key;
  const first = input.shards[0]?.firstId ?? 0;
  const games = input.shards.reduce((a, s) => a + s.games, 0);
  return `selfplay:seed=${input.runSeed}:d=${input.depth}:maxPlies=${input.maxPlies}:ids=${first}+${games}:shards=${input.shards.length}`;
}

/**
 * Starts (or attaches to) the run and waits until it finishes or `timeoutMs` passes. Each wait is
 * a start with the same idempotency key and `waitMs`, which the API answers 200 once finished.
 */
export async function runDistributed(options: {
  readonly orchestrator: string;
  readonly input: DistributedRunInput;
  readonly timeoutMs: number;
  readonly onWaiting?: (runId: string) => void;
}): Promise<DistributedResult> {
  const t0 = Date.now();
  const url = new URL(`/api/workflows/${WORKFLOW}/runs`, options.orchestrator);
  const key = idempotencyKey(options.input);
  for (;;) {
    const left = options.timeoutMs - (Date.now() - t0);
    if (left <= 0)
      throw new Error(`the self-play run did not finish within ${options.timeoutMs} ms`);
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          input: options.input,
          idempotencyKey: key,
          waitMs: Math.min(left, 60_000),
        }),
      });
    } catch (e) {
      throw new Error(
        `cannot reach the orchestrator at ${url.origin}: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`,
      );
    }
    const text = await response.text();
    if (response.status !== 200 && response.status !== 202)
      throw new Error(
        `orchestrator answered ${response.status} to ${url.href}: ${text.slice(0, 2000)}`,
      );
    const { run } = runResponseSchema.parse(JSON.parse(text));
    if (response.status === 202 || run.status === 'running' || run.status === 'pending') {
      options.onWaiting?.(run.id);
      continue;
    }
    const status = TerminalRunStatus.parse(run.status);
    if (status !== 'succeeded')
      throw new Error(
        `self-play run ${run.id} ${status}: ${run.error?.message ?? 'no error message'} (inspect ${new URL(`/api/runs/${run.id}`, options.orchestrator).href})`,
      );
    const shardStep = run.steps?.find((s) => s.step === 'shards');
    const workers = new Set<string>();
    for (const item of shardStep?.items ?? [])
      for (const a of item.attempts) if (a.workerId) workers.add(a.workerId);
    return {
      runId: run.id,
      output: distributedOutputSchema.parse(run.output),
      shardWorkers: [...workers].sort(),
      wallMs: run.durationMs ?? Date.now() - t0,
    };
  }
}
