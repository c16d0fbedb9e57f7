/**
 * Cost of one model call by batch size, for the search-time inference graph (what neuralScorer
 * uses) and the training forward it replaced: CPU ms per call and positions per CPU-second.
 *   npx tsx tools/bench/checkers-learning/forward.ts [--model dir] [--profile 256]
 * --profile n prints tf.profile's per-kernel times of both paths at batch n.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initialPosition, legalMoves, makeMove, type Position } from '@conveyor/draughts';
import {
  BUNDLED_MODEL_DIR,
  buildInferenceGraph,
  encodePositions,
  forward,
  loadModel,
  SQUARES,
} from '@conveyor/draughts-learning';
import { initBackend } from '@conveyor/tfjs-runtime';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: BUNDLED_MODEL_DIR },
    profile: { type: 'string' },
  },
});

void (async () => {
  const backend = await initBackend({ label: 'bench', log: (l) => console.log(l) });
  if (backend.name === 'wasm')
    console.log(
      `wasm SIMD ${String(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))}, threads ${String(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'))}`,
    );
  const model = loadModel(values.model);
  const graph = buildInferenceGraph(model.params, model.config);
  const start = initialPosition();
  // Distinct positions two plies deep, as a search's leaves would be.
  const pool: Position[] = legalMoves(start).flatMap((m) => {
    const p = makeMove(start, m);
    return legalMoves(p).map((r) => makeMove(p, r));
  });
  const paths = {
    inference: (tokens: Int32Array, side: Int32Array, n: number) => graph.logits(tokens, side, n),
    training: (tokens: Int32Array, side: Int32Array, n: number) => {
      const t = tf.tidy(() =>
        forward(
          model.params,
          model.config,
          tf.tensor2d(tokens, [n, SQUARES], 'int32'),
          tf.tensor1d(side, 'int32'),
        ),
      );
      const out = t.dataSync();
      t.dispose();
      return out;
    },
  };
  const batch = (n: number) =>
    encodePositions(Array.from({ length: n }, (_, i) => pool[i % pool.length] ?? start));
  for (const run of Object.values(paths)) run(batch(8).tokens, batch(8).side, 8); // warm-up
  console.log(
    `backend ${backend.name}; model d=${model.config.dModel}, ${model.config.layers} layers`,
  );
  for (const n of [1, 8, 32, 64, 128, 256, 1024]) {
    const { tokens, side } = batch(n);
    const reps = Math.max(5, Math.ceil(2048 / n));
    const cells: string[] = [];
    for (const [name, run] of Object.entries(paths)) {
      const c = process.cpuUsage();
      const t = process.hrtime.bigint();
      for (let i = 0; i < reps; i++) run(tokens, side, n);
      const u = process.cpuUsage(c);
      const cpuMs = (u.user + u.system) / 1000 / reps;
      const wallMs = Number(process.hrtime.bigint() - t) / 1e6 / reps;
      cells.push(
        `${name} ${cpuMs.toFixed(2)} ms CPU/call, ${wallMs.toFixed(2)} ms wall, ${((n * 1000) / cpuMs).toFixed(0)} pos/CPU-s`,
      );
    }
    console.log(`batch ${String(n).padStart(4)}: ${cells.join(' | ')}`);
  }
  if (values.profile) {
    const n = Number(values.profile);
    const { tokens, side } = batch(n);
    for (const [name, run] of Object.entries(paths)) {
      const info = await tf.profile(() => {
        run(tokens, side, n);
      });
      const byKernel = new Map<string, { ms: number; count: number }>();
      for (const k of info.kernels) {
        const e = byKernel.get(k.name) ?? { ms: 0, count: 0 };
        e.ms += Number(await k.kernelTimeMs);
        e.count++;
        byKernel.set(k.name, e);
      }
      const total = [...byKernel.values()].reduce((a, e) => a + e.ms, 0);
      console.log(
        `profile ${name} batch ${n}: ${info.kernels.length} kernels, ${total.toFixed(1)} ms in kernels; ` +
          [...byKernel]
            .sort((a, b) => b[1].ms - a[1].ms)
            .map(([k, e]) => `${k} ${e.ms.toFixed(1)} (${e.count})`)
            .join(', '),
      );
    }
  }
})().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
