/**
 * Cost of one model call by batch size: CPU ms per call and positions per CPU-second.
 *   npx tsx tools/bench/checkers-learning/forward.ts [--model dir]
 */
import { parseArgs } from 'node:util';
import { initialPosition, legalMoves, makeMove } from '@conveyor/draughts';
import { BUNDLED_MODEL_DIR, loadModel, neuralScorer } from '@conveyor/draughts-learning';
import { initBackend } from '@conveyor/tfjs-runtime';

const { values } = parseArgs({
  options: { model: { type: 'string', default: BUNDLED_MODEL_DIR } },
});

void (async () => {
  const backend = await initBackend({ label: 'bench', log: (l) => console.log(l) });
  const scorer = neuralScorer(loadModel(values.model));
  const start = initialPosition();
  const pool = legalMoves(start).map((m) => makeMove(start, m));
  scorer.scoreSync(pool); // warm-up
  console.log(`backend ${backend.name}`);
  for (const n of [1, 8, 32, 64, 128, 256, 1024]) {
    const positions = Array.from({ length: n }, (_, i) => pool[i % pool.length] ?? start);
    const reps = Math.max(3, Math.ceil(2048 / n));
    const c = process.cpuUsage();
    const t = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) scorer.scoreSync(positions);
    const u = process.cpuUsage(c);
    const cpuMs = (u.user + u.system) / 1000 / reps;
    const wallMs = Number(process.hrtime.bigint() - t) / 1e6 / reps;
    console.log(
      `batch ${String(n).padStart(4)}: ${cpuMs.toFixed(2)} ms CPU/call, ${wallMs.toFixed(1)} ms wall/call, ${((n * 1000) / cpuMs).toFixed(0)} positions/CPU-s`,
    );
  }
})().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
