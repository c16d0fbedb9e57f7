import { engineThreadFile } from '../src/bundles';
import { PoolEngine } from '../src/engine/pool-engine';
// The match script is checkers' own bench tool (tools/bench/checkers, linted with this project).
// eslint-disable-next-line @nx/enforce-module-boundaries
import { playGame, summarize, wilson } from '../../../tools/bench/checkers/hard-match';
import { BUNDLE_DIR } from './harness';

describe('hard-match (new hard vs old hard), tiny configuration', () => {
  it('computes Wilson intervals', () => {
    const [lo, hi] = wilson(5, 10);
    expect(lo).toBeCloseTo(0.2366, 3);
    expect(hi).toBeCloseTo(0.7634, 3);
    expect(wilson(0, 20)[0]).toBe(0);
    expect(wilson(0, 0)).toEqual([0, 1]);
  });

  it('plays a short game through the engine pool, new side counting its tie-breaks', async () => {
    const engine = new PoolEngine({ threadFile: engineThreadFile(BUNDLE_DIR), threads: 1 });
    try {
      const game = await playGame(engine, 0, 30, 6);
      expect(game).toMatchObject({ index: 0, white: 'new', result: 'draw', plies: 6 });
      expect(game.reason).toBe('ply-cap');
      // The new side moved 3 times, each with a tie-break outcome.
      expect(Object.values(game.tieBreaks).reduce((a, b) => a + b, 0)).toBe(3);
      const summary = summarize([game, { ...game, index: 1, white: 'old', result: 'new' }]);
      expect(summary).toMatchObject({ games: 2, wins: 1, draws: 1, losses: 0, score: 0.75 });
    } finally {
      await engine.close();
    }
  });
});
