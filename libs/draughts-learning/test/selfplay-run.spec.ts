/* eslint-disable @typescript-eslint/no-non-null-assertion -- in tests a missing value throws and fails the test, which is what we want */
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRecord, runSelfPlay } from '../src';

const d1 = { label: 'd1', depth: 1 };

describe('parallel resumable self-play', () => {
  it('plays every id once on worker threads, and a rerun after a cut line only plays what is missing', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'selfplay-')), 'games.jsonl');
    const first = await runSelfPlay({
      out,
      games: 6,
      white: d1,
      black: d1,
      runSeed: 4,
      threads: 2,
      chunk: 2,
      maxPlies: 30,
    });
    expect(first).toMatchObject({ played: 6, resumed: 0 });
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(
      lines.map((l) => (parseRecord(l) as { ok: true; record: { id: number } }).record.id).sort(),
    ).toEqual([0, 1, 2, 3, 4, 5]);

    appendFileSync(out, lines[0]!.slice(0, 25)); // an interrupted write
    const second = await runSelfPlay({
      out,
      games: 9,
      white: d1,
      black: d1,
      runSeed: 4,
      threads: 2,
      chunk: 2,
      maxPlies: 30,
    });
    expect(second).toMatchObject({ played: 3, resumed: 6 });
    const all = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => parseRecord(l));
    expect(all.every((p) => p.ok)).toBe(true);
    expect(all).toHaveLength(9);
  });
});
