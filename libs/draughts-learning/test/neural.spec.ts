/* eslint-disable @typescript-eslint/no-non-null-assertion -- in tests a missing value throws and fails the test, which is what we want */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initialPosition, legalMoves, makeMove, parseFen, type Position } from '@conveyor/draughts';
import { initBackend } from '@conveyor/tfjs-runtime';
import {
  batchedMinimax,
  buildTrainingSet,
  encodePosition,
  evaluateLoss,
  initParams,
  gameSeed,
  loadModel,
  lossCurveSvg,
  materialPlusNeural,
  neuralScorer,
  playSelfPlayGame,
  ramp,
  saveModel,
  sequentialAlphaBeta,
  train,
  type TransformerConfig,
} from '../src';

const tiny: TransformerConfig = { dModel: 8, heads: 2, ffn: 16, layers: 2 };
const d1 = { label: 'd1', depth: 1 };
const records = Array.from({ length: 6 }, (_, id) =>
  playSelfPlayGame({ white: d1, black: d1, id, seed: gameSeed(2, id), maxPlies: 60 }),
);

describe('targets and encoding', () => {
  it('ramps from 0 at the first ply to 1 at the deciding ply', () => {
    expect(ramp(0)).toBeCloseTo(0, 12);
    expect(ramp(1)).toBeCloseTo(1, 12);
    expect(ramp(0.5)).toBeCloseTo(0.5, 12);
    expect(ramp(0.25)).toBeLessThan(0.25);
  });

  it('sees both sides from the mover: the start position and its mirror encode alike', () => {
    const a = new Int32Array(32);
    const b = new Int32Array(32);
    const start = initialPosition();
    expect(encodePosition(start, a, 0)).toBe(0);
    const blackView: Position = { ...start, turn: 'black' };
    expect(encodePosition(blackView, b, 0)).toBe(1);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(a.filter((t) => t === 1)).toHaveLength(12);
  });

  it('builds one target row per position, nonzero only on the actual outcome', () => {
    const set = buildTrainingSet(records);
    expect(set.count).toBe(records.reduce((s, r) => s + r.plies + 1, 0));
    for (let i = 0; i < set.count; i++) {
      const row = Array.from(set.targets.subarray(3 * i, 3 * i + 3));
      expect(row.filter((v) => v > 0).length).toBeLessThanOrEqual(1);
    }
  });
});

describe('transformer scorer', () => {
  it('trains on wasm (loss on the training games falls), saves, reloads to identical scores and plugs into batched minimax', async () => {
    await initBackend({ candidates: ['wasm'] });
    const set = buildTrainingSet(records);
    const result = train(set, {
      config: tiny,
      epochs: 10,
      maxSteps: 30,
      batchSize: 64,
      learningRate: 1e-2,
      seed: 3,
      validationShare: 0.2,
    });
    const all = Array.from({ length: set.count }, (_, i) => i);
    expect(evaluateLoss(result.params, tiny, set, all)).toBeLessThan(
      evaluateLoss(initParams(tiny, 3), tiny, set, all),
    );
    expect(result.curve.length).toBeGreaterThan(1);
    expect(lossCurveSvg(result.curve, 'test')).toMatch(/^<svg[\s\S]*polyline[\s\S]*<\/svg>/);

    const dir = mkdtempSync(join(tmpdir(), 'draughts-model-'));
    await saveModel(dir, tiny, result.params, { test: true });
    const loaded = loadModel(dir);
    const positions = [
      initialPosition(),
      ...legalMoves(initialPosition()).map((m) => makeMove(initialPosition(), m)),
    ];
    const original = neuralScorer({ config: tiny, params: result.params });
    const reloaded = neuralScorer(loaded);
    const wasmScores = reloaded.scoreSync(positions);
    expect(Array.from(wasmScores)).toEqual(Array.from(original.scoreSync(positions)));
    for (const v of wasmScores) expect(Math.abs(v)).toBeLessThanOrEqual(1);

    const before = reloaded.calls();
    const batched = await batchedMinimax(initialPosition(), reloaded, { depth: 3, batchSize: 32 });
    expect(reloaded.calls() - before).toBe(Math.ceil(batched.leaves / 32));
    const seq = await sequentialAlphaBeta(initialPosition(), reloaded, { depth: 3 });
    expect(batched.score).toBe(seq.score);
    expect(batched.move).toEqual(seq.move);

    // The same weights score the same on the plain-JS cpu backend (inference only: training there is ~10x slower).
    await initBackend({ candidates: ['cpu'] });
    const cpuScores = neuralScorer(loadModel(dir)).scoreSync(positions);
    cpuScores.forEach((v, i) => expect(v).toBeCloseTo(wasmScores[i] as number, 4));
  });
});

describe('continued training', () => {
  it('starts from the given weights without changing them', async () => {
    await initBackend({ candidates: ['wasm'] });
    const set = buildTrainingSet(records);
    const start = initParams(tiny, 8);
    const before = start.get('head')!.dataSync().slice();
    const all = Array.from({ length: set.count }, (_, i) => i);
    const opts = { config: tiny, epochs: 1, batchSize: 64, learningRate: 1e-2, seed: 3 };
    const continued = train(set, { ...opts, maxSteps: 5, initialParams: start });
    // Step 0 of the curve is the given weights' validation loss, not a fresh initialisation's.
    const fresh = train(set, { ...opts, maxSteps: 1 });
    expect(continued.curve[0]!.validationLoss).not.toBeCloseTo(fresh.curve[0]!.validationLoss, 6);
    expect(Array.from(start.get('head')!.dataSync())).toEqual(Array.from(before));
    expect(evaluateLoss(continued.params, tiny, set, all)).toBeLessThan(
      evaluateLoss(start, tiny, set, all),
    );
    expect(() =>
      train(set, { ...opts, config: { ...tiny, dModel: 4 }, initialParams: start }),
    ).toThrow(/initial weight .* has shape/);
  });
});

describe('material plus network', () => {
  it('adds material (men 1, kings 3) for the side to move to the network value', async () => {
    await initBackend({ candidates: ['wasm'] });
    const net = neuralScorer({ config: tiny, params: initParams(tiny, 5) });
    const hybrid = materialPlusNeural(net, 1);
    const fenOf = (t: string): Position => {
      const r = parseFen(t);
      if (!r.ok) throw new Error(r.error.message);
      return r.value;
    };
    const positions = [initialPosition(), fenOf('W:W1,2,K12:B30'), fenOf('B:W1,2,K12:B30')];
    const base = net.scoreSync(positions);
    const mixed = await hybrid.scoreBatch(positions);
    expect(mixed[0]).toBeCloseTo(base[0]!, 6);
    expect(mixed[1]).toBeCloseTo(base[1]! + 4, 5); // 2 men + 1 king (3) − 1 man
    expect(mixed[2]).toBeCloseTo(base[2]! - 4, 5);
  });
});
