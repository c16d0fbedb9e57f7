/**
 * Positions scored per second by the transformer: batched minimax (one model call per batch)
 * against the same tree scored one model call per position (sequential minimax, no pruning,
 * so both score the same leaves).
 *   npx tsx tools/bench/checkers-learning/scoring.ts [--model libs/draughts-learning/model] [--depth 3] [--batch 32,64,256]
 */
import { parseArgs } from 'node:util';
import { initialPosition, parseFen, type Position } from '@conveyor/draughts';
import {
  BUNDLED_MODEL_DIR,
  batchedMinimax,
  loadModel,
  neuralScorer,
  sequentialAlphaBeta,
} from '@conveyor/draughts-learning';
import { initBackend } from '@conveyor/tfjs-runtime';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: BUNDLED_MODEL_DIR },
    depth: { type: 'string', default: '3' },
    batch: { type: 'string', default: '32,64,128,256' },
  },
});

function fen(t: string): Position {
  const r = parseFen(t);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

void (async () => {
  const backend = await initBackend({ label: 'bench', log: (l) => console.log(l) });
  const scorer = neuralScorer(loadModel(values.model));
  const depth = Number(values.depth);
  const batchSizes = values.batch.split(',').map(Number);
  const positions = [
    initialPosition(),
    fen('W:W9,10,11,12,14,15,17:B19,21,22,23,24,26,27'),
    fen('B:W1,2,5,9,13,17,21:B24,27,28,31,32'),
  ];
  const time = async (
    fn: () => Promise<number>,
  ): Promise<{ scored: number; wall: number; cpu: number }> => {
    const t = process.hrtime.bigint();
    const c = process.cpuUsage();
    const scored = await fn();
    const u = process.cpuUsage(c);
    return {
      scored,
      wall: Number(process.hrtime.bigint() - t) / 1e9,
      cpu: (u.user + u.system) / 1e6,
    };
  };
  await batchedMinimax(initialPosition(), scorer, { depth: 1, batchSize: 32 }); // warm-up: kernels compiled, wasm heap grown
  const rate = (r: { scored: number; wall: number; cpu: number }): string =>
    `${r.scored} positions, ${(r.scored / r.wall).toFixed(0)} /s wall, ${(r.scored / r.cpu).toFixed(0)} /s CPU`;
  const single = await time(async () => {
    let n = 0;
    for (const p of positions)
      n += (await sequentialAlphaBeta(p, scorer, { depth, prune: false })).calls;
    return n;
  });
  console.log(`backend ${backend.name}, depth ${depth}`);
  console.log(`one per call: ${rate(single)}`);
  for (const batchSize of batchSizes) {
    const batched = await time(async () => {
      let n = 0;
      for (const p of positions)
        n += (await batchedMinimax(p, scorer, { depth, batchSize })).leaves;
      return n;
    });
    console.log(
      `batch ${String(batchSize).padStart(4)}: ${rate(batched)}; speed-up ${(batched.scored / batched.cpu / (single.scored / single.cpu)).toFixed(1)}x per CPU-second, ${(batched.scored / batched.wall / (single.scored / single.wall)).toFixed(1)}x wall`,
    );
  }
})().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
