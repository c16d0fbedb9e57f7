import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIFFICULTIES } from '../src/difficulty';
import { engineThreadFile } from '../src/bundles';
import { EngineBusyError, EngineTimeoutError, type EngineTask } from '../src/engine/engine';
import { PoolEngine } from '../src/engine/pool-engine';
import { BUNDLE_DIR } from './harness';

const START = 'W:W1,2,3,4,5,6,7,8,9,10,11,12:B21,22,23,24,25,26,27,28,29,30,31,32';
const task = (difficulty: 'easy' | 'medium', seed = 1): EngineTask => ({
  fen: START,
  history: [],
  difficulty,
  search: DIFFICULTIES[difficulty],
  seed,
});

describe('PoolEngine (worker threads)', () => {
  it('answers a search from a thread, and a bad position with `rejected`', async () => {
    const engine = new PoolEngine({ threadFile: engineThreadFile(BUNDLE_DIR), threads: 1 });
    try {
      const outcome = await engine.chooseMove(task('easy'));
      expect(outcome).toMatchObject({ kind: 'move', depth: 2 });
      const rejected = await engine.chooseMove({ ...task('easy'), fen: 'W:W40:B1' });
      expect(rejected.kind).toBe('rejected');
      const none = await engine.chooseMove({ ...task('easy'), fen: 'W:W1:B5,10' });
      expect(none.kind).toBe('no-legal-moves');
    } finally {
      await engine.close();
    }
  });

  it('refuses work beyond its queue instead of queueing without bound', async () => {
    const engine = new PoolEngine({
      threadFile: engineThreadFile(BUNDLE_DIR),
      threads: 1,
      maxQueue: 1,
    });
    try {
      const results = await Promise.allSettled(
        [1, 2, 3, 4].map((seed) => engine.chooseMove(task('medium', seed))),
      );
      const busy = results.filter(
        (r) => r.status === 'rejected' && r.reason instanceof EngineBusyError,
      );
      expect(busy.length).toBeGreaterThanOrEqual(1);
      expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
      expect(engine.stats()['rejectedBusy']).toBe(busy.length);
    } finally {
      await engine.close();
    }
  });

  it('kills a search that overruns its budget and keeps serving', async () => {
    // A thread script that never returns stands in for a runaway search.
    const dir = mkdtempSync(join(tmpdir(), 'checkers-hang-'));
    const hang = join(dir, 'hang.js');
    writeFileSync(
      hang,
      'module.exports = (task) => { if (task.fen === "hang") for (;;) {} return { kind: "no-legal-moves" }; };',
    );
    const engine = new PoolEngine({ threadFile: hang, threads: 1 });
    try {
      const stuck = { ...task('easy'), fen: 'hang', search: { ...DIFFICULTIES.easy, timeMs: 1 } };
      await expect(engine.chooseMove(stuck)).rejects.toBeInstanceOf(EngineTimeoutError);
      expect(engine.stats()['timeouts']).toBe(1);
      await expect(engine.chooseMove(task('easy'))).resolves.toEqual({ kind: 'no-legal-moves' });
    } finally {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says how to fix a missing thread script', () => {
    expect(
      () => new PoolEngine({ threadFile: '/nonexistent/engine-thread.js', threads: 1 }),
    ).toThrow(/checkers:build/);
  });
});
