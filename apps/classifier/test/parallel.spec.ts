import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, createT5, readSafetensors } from '@conveyor/t5';
import { ensureBackend } from '../src/model/t5-classifier';
import { parallelEngine } from '../src/train/parallel/parallel-engine';
import { singleThreadEngine } from '../src/train/step-engine';
import { runTraining } from '../src/train/train-run';
import { fixture, tempDir } from './helpers';

const quiet = { log: () => undefined, progress: () => undefined };

// Largest difference between 1 and 2 threads we accept after a few AdamW steps: float32 sums in
// another order differ by ~1e-7 relative; Adam divides by √v, so a few steps keep that ~1e-6.
const TOLERANCE = 1e-5;

const tiny = (dir: string, threads: 1 | 2) => ({
  data: fixture('train-tiny.csv'),
  runDir: path.join(dir, 'run'),
  out: path.join(dir, 'model'),
  vocabSize: 250,
  // No dropout: its masks are drawn per half-batch, so with dropout the runs differ by design.
  model: { dModel: 16, dFf: 32, dKv: 8, numHeads: 2, numLayers: 1, dropoutRate: 0 },
  holdout: { fraction: 0.25, seed: 1 },
  validation: { fraction: 0.34, seed: 3 },
  maxSteps: 3,
  maxBatchSize: 6,
  warmupSteps: 1,
  evalEvery: 100,
  evalRows: 6,
  seed: 5,
  threads,
});

function maxDifference(a: string, b: string): number {
  const x = readSafetensors(readFileSync(a), a).tensors;
  const y = readSafetensors(readFileSync(b), b).tensors;
  let worst = 0;
  for (const [name, t] of x) {
    const u = y.get(name)?.data as Float32Array;
    t.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (u[i] as number)))));
  }
  return worst;
}

describe('data-parallel training on two worker threads', () => {
  it('matches one thread at the same effective batch (within float32 tolerance)', async () => {
    const one = tempDir('parallel-1');
    const two = tempDir('parallel-2');
    const a = await runTraining(tiny(one, 1), { resume: false }, quiet);
    const b = await runTraining(tiny(two, 2), { resume: false }, quiet);
    expect(a).toMatchObject({ status: 'finished', steps: 3 });
    expect(b).toMatchObject({ status: 'finished', steps: 3 });
    const diff = maxDifference(
      path.join(one, 'model', 'model.safetensors'),
      path.join(two, 'model', 'model.safetensors'),
    );
    if (process.env['SHOW_PARALLEL_DIFF'])
      process.stdout.write(`max |1-thread − 2-thread| = ${diff}\n`);
    expect(diff).toBeLessThan(TOLERANCE);
    const manifest = JSON.parse(readFileSync(path.join(two, 'model', 'classifier.json'), 'utf8'));
    expect(manifest.training.options.threads).toBe(2);
  }, 240_000);

  it('resumes a 1-thread checkpoint on 2 threads (weights and AdamW state handed over)', async () => {
    const straight = tempDir('parallel-straight');
    const split = tempDir('parallel-split');
    await runTraining(tiny(straight, 1), { resume: false }, quiet);
    const first = await runTraining(tiny(split, 1), { resume: false, stopAtStep: 2 }, quiet);
    expect(first).toMatchObject({ status: 'stopped', steps: 2 });
    const rest = await runTraining(tiny(split, 2), { resume: true }, quiet);
    expect(rest).toMatchObject({ status: 'finished', steps: 3 });
    expect(
      maxDifference(
        path.join(straight, 'model', 'model.safetensors'),
        path.join(split, 'model', 'model.safetensors'),
      ),
    ).toBeLessThan(TOLERANCE);
  }, 240_000);

  it('keeps both replicas bit-identical, equal to one thread, and hands the main thread weights and AdamW state', async () => {
    await ensureBackend();
    const config = {
      vocabSize: 40,
      dModel: 16,
      dFf: 32,
      dKv: 8,
      numHeads: 2,
      numLayers: 1,
      numDecoderLayers: 1,
      dropoutRate: 0,
    };
    const model = createT5(config, { seed: 3 });
    const reference = createT5(config, { seed: 3 });
    const optimizer = new AdamW({ weightDecay: 0.01 });
    const referenceOptimizer = new AdamW({ weightDecay: 0.01 });
    const engine = await parallelEngine(model, optimizer, {
      maxGradNorm: 1,
      weightDecay: 0.01,
      padTokenId: 0,
    });
    const single = singleThreadEngine(reference, referenceOptimizer, {
      maxGradNorm: 1,
      padTokenId: 0,
    });
    const before = Float32Array.from(model.param('shared.weight').dataSync());
    // An odd batch: halves of 2 and 1 rows, weighted by their label tokens.
    const rows = [
      { inputIds: [5, 6, 7, 1], labels: [20, 1] },
      { inputIds: [9, 10, 1], labels: [21, 22, 1] },
      { inputIds: [11, 12, 13, 14, 1], labels: [22, 1] },
    ];
    for (let s = 0; s < 2; s++) {
      const input = { rows, learningRate: 0.01, stepKey: `t:${s}`, nextDropoutSeed: () => 1 };
      await engine.step(input);
      await single.step(input);
    }
    expect(await engine.replicasAgree()).toBe(true);
    await engine.sync();
    expect(optimizer.iterations).toBe(2);
    let moved = 0;
    let differs = 0;
    for (const [name, v] of model.params) {
      const after = v.dataSync();
      const ref = reference.param(name).dataSync();
      const init = name === 'shared.weight' ? before : undefined;
      after.forEach((x, i) => {
        differs = Math.max(differs, Math.abs(x - (ref[i] as number)));
        if (init) moved = Math.max(moved, Math.abs(x - (init[i] as number)));
      });
    }
    // Two steps at lr 0.01 move weights by ~0.02; the two engines differ by float rounding only.
    expect(moved).toBeGreaterThan(0.01);
    expect(differs).toBeLessThan(TOLERANCE);
    const ownState = await optimizer.getState();
    const refState = await referenceOptimizer.getState();
    expect(ownState.step).toBe(refState.step);
    await engine.dispose();
    await single.dispose();
    tf.dispose([...model.variables(), ...reference.variables()]);
    optimizer.dispose();
    referenceOptimizer.dispose();
  }, 240_000);
});
