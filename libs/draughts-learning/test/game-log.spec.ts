/* eslint-disable @typescript-eslint/no-non-null-assertion -- in tests a missing value throws and fails the test, which is what we want */
import { parsePdn, toFen, legalMoves, initialPosition } from '@conveyor/draughts';
import {
  gameSeed,
  parseRecord,
  playSelfPlayGame,
  recordToPdn,
  replayRecord,
  formatRecord,
} from '../src';

const d2 = { label: 'd2', depth: 2 };

describe('game log', () => {
  const record = playSelfPlayGame({ white: d2, black: d2, id: 3, seed: gameSeed(9, 3) });

  it('replays to the logged final position, one position per ply', () => {
    const r = replayRecord(record);
    expect(r.moves).toHaveLength(record.plies);
    expect(r.positions).toHaveLength(record.plies + 1);
    expect(toFen(r.positions[r.positions.length - 1]!)).toBe(record.final);
    expect(record.moves).toHaveLength(2 * record.plies);
    expect(['no-moves', 'repetition', 'move-limit', 'ply-cap']).toContain(record.reason);
  });

  it('is a function of the seed: same seed, same game; other seeds, other games', () => {
    expect(playSelfPlayGame({ white: d2, black: d2, id: 3, seed: gameSeed(9, 3) })).toEqual(record);
    const others = new Set(
      [1, 2, 4, 5, 6].map(
        (id) => playSelfPlayGame({ white: d2, black: d2, id, seed: gameSeed(9, id) }).moves,
      ),
    );
    expect(others.size).toBeGreaterThan(2);
  });

  it('round-trips through JSONL and rejects broken lines with a reason', () => {
    const parsed = parseRecord(formatRecord(record));
    expect(parsed).toEqual({ ok: true, record });
    expect(parseRecord(formatRecord(record).slice(0, 40))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/not JSON/),
    });
    expect(parseRecord('{"v":2}')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/version-1/),
    });
  });

  it('detects a log written with another move ordering', () => {
    const other =
      (parseInt(record.moves.slice(0, 2), 16) + 1) % legalMoves(initialPosition()).length;
    const tampered = {
      ...record,
      moves: other.toString(16).padStart(2, '0') + record.moves.slice(2),
    };
    expect(() => replayRecord(tampered)).toThrow(/replays to|out of range/);
  });

  it('exports PDN that libs/draughts parses back to the same moves and result', () => {
    const pdn = recordToPdn(record);
    const games = parsePdn(pdn);
    if (!games.ok) throw new Error(games.error.message);
    expect(games.value).toHaveLength(1);
    expect(games.value[0]!.game.moves).toHaveLength(record.plies);
    expect(games.value[0]!.tags['Result']).toBe(record.result);
    expect(pdn).toContain('[Termination "' + record.reason + '"]');
  });
});
