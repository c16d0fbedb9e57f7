/**
 * Positions scored per second by the transformer: batched minimax (one model call per batch)
 * against the same tree scored one model call per position (sequential minimax, no pruning,
 * so both score the same leaves).
 *   npx tsx tools/bench/checkers-learning/scoring.ts [--model libs/draughts-learning/model] [--depth 3]
 *     [--batch 32,64,256] [--repeat 7] [--configs wasm,tfjs-xnnpack,tfjs-stock]
 *
 * Every path is warmed up first (one full untimed run each, so neither side is measured while V8
 * is still compiling it), then the paths are timed in turn, `repeat` rounds interleaved, and the
 * median round of each is reported. `--configs` lists the scorers measured, in one process:
 * `wasm` — the inference graph's default attention (one WebAssembly SIMD call per layer);
 * `tfjs-xnnpack` / `tfjs-stock` — attention as tfjs batched matMuls + Softmax, with wasm's
 * BatchMatMul being @conveyor/tfjs-runtime's XNNPACK kernel or tfjs-backend-wasm's own.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initialPosition, parseFen, type Position } from '@conveyor/draughts';
import {
  BUNDLED_MODEL_DIR,
  batchedMinimax,
  loadModel,
  neuralScorer,
  sequentialAlphaBeta,
} from '@conveyor/draughts-learning';
import { initBackend, useXnnpackBatchMatMul } from '@conveyor/tfjs-runtime';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: BUNDLED_MODEL_DIR },
    depth: { type: 'string', default: '3' },
    batch: { type: 'string', default: '32,64,128,256' },
    repeat: { type: 'string', default: '7' },
    configs: { type: 'string', default: 'wasm,tfjs-xnnpack,tfjs-stock' },
  },
});

function fen(t: string): Position {
  const r = parseFen(t);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

interface Timing {
  scored: number;
  wall: number;
  cpu: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

void (async () => {
  const backend = await initBackend({ label: 'bench', log: (l) => console.log(l) });
  const model = loadModel(values.model);
  const depth = Number(values.depth);
  const repeat = Math.max(1, Number(values.repeat));
  const batchSizes = values.batch.split(',').map(Number);
  const configs = values.configs
    .split(',')
    .filter((c) => c === 'wasm' || c === 'tfjs-xnnpack' || c === 'tfjs-stock');
  const positions = [
    initialPosition(),
    fen('W:W9,10,11,12,14,15,17:B19,21,22,23,24,26,27'),
    fen('B:W1,2,5,9,13,17,21:B24,27,28,31,32'),
  ];
  const time = async (fn: () => Promise<number>): Promise<Timing> => {
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
  // The paths: "single" is one model call per leaf, the others batched minimax at a batch size.
  const pathsFor = (scorer: ReturnType<typeof neuralScorer>) => {
    const paths = new Map<string, () => Promise<number>>();
    paths.set('single', async () => {
      let n = 0;
      for (const p of positions)
        n += (await sequentialAlphaBeta(p, scorer, { depth, prune: false })).calls;
      return n;
    });
    for (const batchSize of batchSizes)
      paths.set(`batch ${batchSize}`, async () => {
        let n = 0;
        for (const p of positions)
          n += (await batchedMinimax(p, scorer, { depth, batchSize })).leaves;
        return n;
      });
    return paths;
  };
  const perSecond = (t: Timing) => ({ wall: t.scored / t.wall, cpu: t.scored / t.cpu });
  console.log(
    `backend ${backend.name}, depth ${depth}, ${positions.length} root positions, median of ${repeat} rounds after a warm-up round`,
  );
  for (const config of configs) {
    useXnnpackBatchMatMul(config !== 'tfjs-stock');
    const paths = pathsFor(neuralScorer(model, { attention: config === 'wasm' ? 'wasm' : 'tfjs' }));
    for (const run of paths.values()) await run(); // warm-up
    const rounds = new Map<string, Timing[]>([...paths.keys()].map((k) => [k, []]));
    for (let r = 0; r < repeat; r++)
      for (const [name, run] of paths) rounds.get(name)?.push(await time(run));
    const summary = new Map<string, { scored: number; wall: number; cpu: number }>();
    for (const [name, ts] of rounds) {
      const rates = ts.map(perSecond);
      summary.set(name, {
        scored: ts[0]?.scored ?? 0,
        wall: median(rates.map((x) => x.wall)),
        cpu: median(rates.map((x) => x.cpu)),
      });
    }
    const single = summary.get('single');
    if (!single) continue;
    console.log(`scorer: ${config}`);
    for (const [name, s] of summary) {
      const line = `${name.padEnd(10)}: ${s.scored} positions, ${s.wall.toFixed(0)} /s wall, ${s.cpu.toFixed(0)} /s CPU`;
      console.log(
        name === 'single'
          ? `${line} (one model call per position)`
          : `${line}; speed-up ${(s.cpu / single.cpu).toFixed(1)}x per CPU-second, ${(s.wall / single.wall).toFixed(1)}x wall`,
      );
    }
  }
  useXnnpackBatchMatMul(true);
  console.log(`tf.memory().numTensors after the runs: ${tf.memory().numTensors}`);
})().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
