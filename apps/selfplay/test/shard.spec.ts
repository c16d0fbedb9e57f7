import { parseRecord, replayRecord } from '@conveyor/draughts-learning';
import { FatalStepError } from '@conveyor/worker-sdk';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { selfplayContracts, selfplayShardRequestSchema } from '@conveyor/contracts';
import { aggregateShards, playShard } from '../src/shard';

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
  it('plays a shard reproducibly, and shards aggregate to the same games as one big shard', () => {
    const a = playShard(request(0, 3));
    const b = playShard(request(3, 2));
    expect(playShard(request(0, 3)).records).toEqual(a.records);
    const whole = playShard(request(0, 5));
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

  it('rejects shard ranges with a gap, naming the missing id', () => {
    expect(() => aggregateShards([playShard(request(0, 1)), playShard(request(2, 1))])).toThrow(
      FatalStepError,
    );
    expect(() => aggregateShards([playShard(request(0, 1)), playShard(request(2, 1))])).toThrow(
      /gap at game id 1/,
    );
  });

  it('workflow YAML names the two worker queues and fans out over the shards', () => {
    const wf = parse(readFileSync(join(__dirname, '../workflows/selfplay.yaml'), 'utf8')) as {
      steps: Record<string, { queue?: string; forEach?: string; needs?: string[] }>;
    };
    expect(wf.steps['shards']).toMatchObject({ queue: 'selfplay-shard', forEach: 'input.shards' });
    expect(wf.steps['aggregate']).toMatchObject({ queue: 'selfplay-aggregate', needs: ['shards'] });
  });
});
