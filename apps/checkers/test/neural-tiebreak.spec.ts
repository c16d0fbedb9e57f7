import { Registry } from 'prom-client';
import type { EngineSearch } from '@conveyor/contracts';
import {
  formatMovePath,
  initialPosition,
  legalMoves,
  makeMove,
  newGame,
  parseFen,
  pieceCountScorer,
  sameMove,
  TranspositionTable,
  type Move,
  type Position,
} from '@conveyor/draughts';
import { bestMoves, rootMoveScores, searchWithTies } from '@conveyor/draughts-learning';
import { engineThreadFile } from '../src/bundles';
import { DIFFICULTIES } from '../src/difficulty';
import { meteredEngine } from '../src/engine/metered-engine';
import { breakTie, loadNeural, modelDirOf, type NeuralState } from '../src/engine/neural-tiebreak';
import { PoolEngine } from '../src/engine/pool-engine';
import { BUNDLE_DIR } from './harness';

const START = 'W:W1,2,3,4,5,6,7,8,9,10,11,12:B21,22,23,24,25,26,27,28,29,30,31,32';
/**
 * The hard configuration with its depth capped: the alpha-beta part then ends in milliseconds
 * and the network has most of the 800 ms, so the test doesn't depend on how loaded the machine
 * is. (At full depth, on a busy machine, the tie-break can legitimately run out of time.)
 */
const HARD_SHALLOW: EngineSearch = { ...DIFFICULTIES.hard, maxDepth: 4 };

const moveTexts = (position: Position) => legalMoves(position).map((m) => formatMovePath(m));

describe('hard: piece-count alpha-beta with a neural tie-break', () => {
  it('is documented as such', () => {
    expect(DIFFICULTIES.hard.scorer).toBe('piece-count+neural-tiebreak');
  });

  it('runs in an engine thread: a legal move chosen by the network, counted in the metrics', async () => {
    const pool = new PoolEngine({ threadFile: engineThreadFile(BUNDLE_DIR), threads: 1 });
    const registry = new Registry();
    const engine = meteredEngine(pool, registry, 'test_engine');
    try {
      const [status] = await pool.ready();
      expect(status).toMatchObject({ kind: 'ready', backend: 'wasm' });
      expect(pool.stats()['network']).toBe('wasm (1 threads)');
      const outcome = await engine.chooseMove({
        fen: START,
        history: [],
        difficulty: 'hard',
        search: HARD_SHALLOW,
        seed: 7,
      });
      if (outcome.kind !== 'move') throw new Error(`expected a move, got ${outcome.kind}`);
      expect(moveTexts(initialPosition())).toContain(outcome.move);
      expect(outcome.depth).toBe(4);
      // Several opening moves are level on material four plies on: the network chose.
      expect(outcome.tieBreak?.tied).toBeGreaterThan(1);
      expect(outcome.tieBreak?.by).toBe('network');
      const metrics = await registry.metrics();
      expect(metrics).toMatch(/test_engine_tiebreaks_total\{difficulty="hard",by="network"\} 1/);

      // A position with one legal move (a double capture): nothing to break.
      const forced = await engine.chooseMove({
        fen: 'W:W10:B14,22',
        history: [],
        difficulty: 'hard',
        search: HARD_SHALLOW,
        seed: 1,
      });
      expect(forced).toMatchObject({ kind: 'move', move: '10x19x26', tieBreak: { by: 'single' } });
    } finally {
      await pool.close();
    }
  });

  it('falls back to the alpha-beta choice when the model directory is missing', async () => {
    const pool = new PoolEngine({
      threadFile: engineThreadFile(BUNDLE_DIR),
      threads: 1,
      modelDir: '/nonexistent/checkers-model',
    });
    try {
      const [status] = await pool.ready();
      expect(status).toMatchObject({ kind: 'unavailable' });
      expect(status?.kind === 'unavailable' && status.reason).toContain('/nonexistent');
      expect(pool.stats()['network']).toMatch(/^unavailable: .*\/nonexistent/);
      const outcome = await pool.chooseMove({
        fen: START,
        history: [],
        difficulty: 'hard',
        search: HARD_SHALLOW,
        seed: 7,
      });
      if (outcome.kind !== 'move') throw new Error(`expected a move, got ${outcome.kind}`);
      expect(moveTexts(initialPosition())).toContain(outcome.move);
      expect(outcome.tieBreak).toMatchObject({ by: 'unavailable' });
      expect(outcome.tieBreak?.tied).toBeGreaterThan(1);
      // Easy and medium never needed the network.
      await expect(
        pool.chooseMove({
          fen: START,
          history: [],
          difficulty: 'medium',
          search: DIFFICULTIES.medium,
          seed: 1,
        }),
      ).resolves.toMatchObject({ kind: 'move' });
    } finally {
      await pool.close();
    }
  });

  describe('in this process', () => {
    let neural: NeuralState;
    beforeAll(async () => {
      neural = await loadNeural(modelDirOf(undefined), () => undefined);
    });

    it('enumerates exactly the root moves tied for the best value', () => {
      const game = newGame();
      const tied = searchWithTies(game, {
        depth: 5,
        scorer: pieceCountScorer(),
        table: new TranspositionTable(16),
      });
      // Reference: every root move searched separately (root-scores.ts), the best kept.
      const reference = bestMoves(rootMoveScores(game, 5, new TranspositionTable(16)));
      expect(tied.expectedTies).toBe(reference.length);
      expect(tied.tied).toHaveLength(reference.length);
      for (const { move } of reference) expect(tied.tied.some((m) => sameMove(m, move))).toBe(true);
    });

    it("picks among tied moves what the network's own scores say is best", async () => {
      const net = neural;
      if (net.kind !== 'ready') throw new Error(`network unavailable: ${net.reason}`);
      const parsed = parseFen('B:W1,2,3,4,5,6,7,8,9,10,11,15:B21,22,23,24,25,26,27,28,29,30,31,32');
      if (!parsed.ok) throw new Error(parsed.error.message);
      const position = parsed.value;
      const { tied, search } = searchWithTies(position, {
        depth: 4,
        scorer: pieceCountScorer(),
        table: new TranspositionTable(16),
      });
      expect(tied.length).toBeGreaterThan(1);
      const chosen = await breakTie(net, position, tied, search.move as Move, 10_000);
      expect(chosen.by).toBe('network');

      // The network called directly: each tied move is worth its worst reply's score (the
      // side to move's material + P(win) − P(loss) after every reply), the best such move wins.
      const worth = tied.map((move) => {
        const child = makeMove(position, move);
        const after = legalMoves(child).map((reply) => makeMove(child, reply));
        return Math.min(...net.scorer.scoreSync(after));
      });
      const best = worth.indexOf(Math.max(...worth));
      expect(formatMovePath(chosen.move)).toBe(formatMovePath(tied[best] as Move));
    });

    it('keeps the alpha-beta choice when there is no time for the network', async () => {
      if (neural.kind !== 'ready') throw new Error(`network unavailable: ${neural.reason}`);
      const position = initialPosition();
      const tied = legalMoves(position).slice(0, 3);
      const fallback = tied[2] as Move;
      await expect(breakTie(neural, position, tied, fallback, 0)).resolves.toEqual({
        move: fallback,
        by: 'timeout',
      });
    });
  });
});
