import { parseRecord, replayRecord } from '@conveyor/draughts-learning';
import { FatalStepError } from '@conveyor/worker-sdk';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { selfplayContracts, selfplayShardRequestSchema } from '@conveyor/contracts';
import { AGGREGATE_QUEUE, SHARD_QUEUE, aggregateShards, playShard } from '../src/shard';
import { idempotencyKey, splitShards } from '../src/distributed';

const request = (firstId: number, games: number) =>
  selfplayShardRequestSchema.parse({
    type: 'selfplay.shard.request',
    version: 1,
    runSeed: 3,
    firstId,
    games,
    white: { depth: 1 },
    black: { depth: 1 },
    maxPlies: 40,
  });

describe('selfplay contracts', () => {
  it.each(selfplayContracts.map((c) => [c.type, c] as const))(
    '%s: examples parse, invalid examples fail on their field',
    (_t, c) => {
      for (const e of c.examples) expect(c.schema.safeParse(e).success).toBe(true);
      for (const bad of c.invalidExamples) {
        const r = c.schema.safeParse(bad.value);
        expect(r.success).toBe(false);
        if (!r.success)
          expect(r.error.issues.some((i) => String(i.path[0]) === bad.field)).toBe(true);
      }
    },
  );
});

describe('selfplay shard and aggregate steps', () => {
  // Two threads: the shard's games run on worker threads, as on a worker machine.
  const play = (firstId: number, games: number) =>
    playShard(request(firstId, games), { threads: 2 });

  it('plays a shard reproducibly, and shards aggregate to the same games as one big shard', async () => {
    const progress: number[] = [];
    const a = await playShard(request(0, 3), {
      threads: 2,
      onProgress: (done) => progress.push(done),
    });
    expect(progress.at(-1)).toBe(3);
    const b = await play(3, 2);
    expect((await play(0, 3)).records).toEqual(a.records);
    const whole = await play(0, 5);
    const merged = aggregateShards([b, a]);
    expect(merged.games).toBe(5);
    expect(merged.jsonl).toBe(whole.records.join('\n') + '\n');
    expect(merged.whiteWins + merged.draws + merged.blackWins).toBe(5);
    for (const line of merged.jsonl.trim().split('\n')) {
      const p = parseRecord(line);
      if (!p.ok) throw new Error(p.error);
      expect(replayRecord(p.record).moves).toHaveLength(p.record.plies);
    }
  });

  it('rejects shard ranges with a gap or overlap, naming the id', async () => {
    const [s0, s2, s0b] = [await play(0, 1), await play(2, 1), await play(0, 2)];
    expect(() => aggregateShards([s0, s2])).toThrow(FatalStepError);
    expect(() => aggregateShards([s0, s2])).toThrow(/gap at game id 1/);
    expect(() => aggregateShards([s0b, { ...s2, firstId: 1 }])).toThrow(/overlap at game id 2/);
  });

  it('rejects a shard whose lines are not the games it claims, or whose counts are wrong', async () => {
    const s = await play(0, 2);
    expect(() =>
      aggregateShards([{ ...s, records: [s.records[1] ?? '', s.records[0] ?? ''] }]),
    ).toThrow(/line 1 holds game 1, expected 0/);
    expect(() =>
      aggregateShards([{ ...s, records: [s.records[0] ?? '', '{"v":1,"id":1}'] }]),
    ).toThrow(/line 2 is not a valid game record/);
    expect(() => aggregateShards([{ ...s, draws: s.draws + 1 }])).toThrow(/but its games give/);
  });

  it('workflow YAML names the two worker queues and fans out over the shards', () => {
    const wf = parse(readFileSync(join(__dirname, '../workflows/selfplay.yaml'), 'utf8')) as {
      steps: Record<
        string,
        { queue?: string; forEach?: string; needs?: string[]; concurrency?: number }
      >;
    };
    expect(wf.steps['shards']).toMatchObject({
      queue: SHARD_QUEUE,
      forEach: 'input.shards',
      concurrency: expect.any(Number),
    });
    expect(wf.steps['aggregate']).toMatchObject({ queue: AGGREGATE_QUEUE, needs: ['shards'] });
  });
});

describe('splitting a distributed run into shards', () => {
  it('covers every id once, in ranges differing by at most one game', () => {
    expect(splitShards(10, 4, 100)).toEqual([
      { firstId: 100, games: 3 },
      { firstId: 103, games: 3 },
      { firstId: 106, games: 2 },
      { firstId: 108, games: 2 },
    ]);
    expect(splitShards(100_000, 20).every((s) => s.games === 5000)).toBe(true);
  });

  it('refuses layouts the shard contract cannot carry, saying what to change', () => {
    expect(() => splitShards(100_000, 10)).toThrow(/10000 games per shard.*use at least 20 shards/);
    expect(() => splitShards(3, 4)).toThrow(/shards must be an integer from 1 to games \(3\)/);
  });

  it('derives the idempotency key from every parameter, within the API bound', () => {
    const input = { runSeed: 1, depth: 4, maxPlies: 300, shards: splitShards(12, 4) };
    expect(idempotencyKey(input)).not.toBe(idempotencyKey({ ...input, runSeed: 2 }));
    expect(idempotencyKey(input)).not.toBe(
      idempotencyKey({ ...input, shards: splitShards(12, 3) }),
    );
    expect(
      idempotencyKey({ ...input, shards: splitShards(100_000, 1000) }).length,
    ).toBeLessThanOrEqual(500);
  });
});
