/**
 * Cost of one model call by batch size, for the search-time inference graph (what neuralScorer
 * uses; its default attention path and the tfjs one) and the training forward: CPU ms per call
 * and positions per CPU-second.
 *   npx tsx tools/bench/checkers-learning/forward.ts [--model dir] [--profile 256] [--kernels xnnpack,stock] [--repeat 5]
 * --profile n prints tf.profile's per-kernel times of the paths at batch n. --train-step n times
 * one training step (sigmoid cross-entropy, gradients of every parameter, Adam update: what
 * `train` runs) at batch n with each BatchMatMul kernel, on a copy of the model's weights. Each (kernel, batch
 * size, path) is warmed up with an untimed round first (V8 compiles the call path during the
 * first ~10³ calls: timing batch 1 cold overstates its cost 1.5–2×), then timed `repeat` rounds
 * of ~2,048 positions each; the median round is reported. `--kernels` picks wasm's BatchMatMul:
 * `xnnpack` (@conveyor/tfjs-runtime's default) and/or `stock` (tfjs-backend-wasm's own).
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
import { initBackend, useXnnpackBatchMatMul } from '@conveyor/tfjs-runtime';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: BUNDLED_MODEL_DIR },
    profile: { type: 'string' },
    kernels: { type: 'string', default: 'xnnpack,stock' },
    repeat: { type: 'string', default: '5' },
    'train-step': { type: 'string' },
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
  const tfjsGraph = buildInferenceGraph(model.params, model.config, { attention: 'tfjs' });
  const start = initialPosition();
  // Distinct positions two plies deep, as a search's leaves would be.
  const pool: Position[] = legalMoves(start).flatMap((m) => {
    const p = makeMove(start, m);
    return legalMoves(p).map((r) => makeMove(p, r));
  });
  const paths = {
    [`inference (${graph.attention} attention)`]: (
      tokens: Int32Array,
      side: Int32Array,
      n: number,
    ) => graph.logits(tokens, side, n),
    'inference (tfjs attention)': (tokens: Int32Array, side: Int32Array, n: number) =>
      tfjsGraph.logits(tokens, side, n),
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
  const repeat = Math.max(1, Number(values.repeat));
  const kernels = values.kernels.split(',').filter((k) => k === 'xnnpack' || k === 'stock');
  if (backend.name !== 'wasm') kernels.splice(0, kernels.length, 'xnnpack');
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
  for (const kernel of kernels) {
    useXnnpackBatchMatMul(kernel === 'xnnpack');
    console.log(`BatchMatMul kernel: ${kernel}`);
    for (const n of [1, 8, 32, 64, 128, 256, 1024]) {
      const { tokens, side } = batch(n);
      const reps = Math.max(5, Math.ceil(2048 / n));
      const cells: string[] = [];
      for (const [name, run] of Object.entries(paths)) {
        for (let i = 0; i < reps; i++) run(tokens, side, n); // warm-up round
        const cpu: number[] = [];
        const wall: number[] = [];
        for (let r = 0; r < repeat; r++) {
          const c = process.cpuUsage();
          const t = process.hrtime.bigint();
          for (let i = 0; i < reps; i++) run(tokens, side, n);
          const u = process.cpuUsage(c);
          cpu.push((u.user + u.system) / 1000 / reps);
          wall.push(Number(process.hrtime.bigint() - t) / 1e6 / reps);
        }
        const cpuMs = median(cpu);
        cells.push(
          `${name} ${cpuMs.toFixed(3)} ms CPU/call, ${median(wall).toFixed(3)} ms wall, ${((n * 1000) / cpuMs).toFixed(0)} pos/CPU-s`,
        );
      }
      console.log(`batch ${String(n).padStart(4)}: ${cells.join(' | ')}`);
    }
  }
  useXnnpackBatchMatMul(true);
  if (values['train-step']) {
    const n = Number(values['train-step']);
    const { tokens, side } = batch(n);
    const targets = tf.tensor2d(
      Array.from({ length: n * 3 }, (_, i) => ((i * 7919) % 11) / 10),
      [n, 3],
    );
    for (const kernel of kernels) {
      useXnnpackBatchMatMul(kernel === 'xnnpack');
      const params = new Map(
        [...model.params].map(([k, v]) => [k, tf.variable(v.clone(), true)] as const),
      );
      const vars = [...params.values()];
      const optimizer = tf.train.adam(0.001);
      const step = (): number => {
        const loss = tf.tidy(
          () =>
            optimizer.minimize(
              () =>
                tf.losses.sigmoidCrossEntropy(
                  targets,
                  forward(
                    params,
                    model.config,
                    tf.tensor2d(tokens, [n, SQUARES], 'int32'),
                    tf.tensor1d(side, 'int32'),
                  ),
                ),
              true,
              vars,
            ) as tf.Scalar,
        );
        const l = loss.dataSync()[0] as number;
        loss.dispose();
        return l;
      };
      const reps = Math.max(5, Math.ceil(8192 / n));
      for (let i = 0; i < 3; i++) step(); // warm-up
      const cpu: number[] = [];
      const wall: number[] = [];
      let last = NaN;
      for (let r = 0; r < repeat; r++) {
        const c = process.cpuUsage();
        const t = process.hrtime.bigint();
        for (let i = 0; i < reps; i++) last = step();
        const u = process.cpuUsage(c);
        cpu.push((u.user + u.system) / 1000 / reps);
        wall.push(Number(process.hrtime.bigint() - t) / 1e6 / reps);
      }
      console.log(
        `training step, batch ${n}, BatchMatMul ${kernel}: ${median(cpu).toFixed(2)} ms CPU, ${median(wall).toFixed(2)} ms wall (loss after ${3 + repeat * reps} steps ${last.toFixed(4)})`,
      );
      optimizer.dispose();
      vars.forEach((v) => v.dispose());
    }
    useXnnpackBatchMatMul(true);
    targets.dispose();
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
