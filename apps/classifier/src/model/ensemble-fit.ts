import { createRng } from '@conveyor/t5';
import type { Label } from '../labels';
import { combineProbabilities, type CombineRule } from './ensemble-manifest';
import { predictionFrom } from './prediction';

/** One point of an N-member grid: a weight per member, summing to 1. */
export interface WeightsPoint {
  readonly weights: readonly number[];
  readonly right: number;
  readonly accuracy: number;
}

export interface WeightsFit {
  /** Every point tried, in the order tried (the tie-break order). */
  readonly grid: WeightsPoint[];
  readonly chosen: WeightsPoint;
  readonly correct: boolean[];
}

/** 0, step, 2·step, …, 1; the step must divide 1 so that both single models are on the grid. */
export function weightGrid(step: number): number[] {
  const n = Math.round(1 / step);
  if (!(step > 0 && step <= 1) || Math.abs(n * step - 1) > 1e-9)
    throw new Error(`the grid step must divide 1 (e.g. 0.05, 0.1, 0.25), got ${step}`);
  return Array.from({ length: n + 1 }, (_, k) => Number((k / n).toFixed(6)));
}

/**
 * Every way to give `members` weights that are multiples of `step` and sum to 1 (the simplex
 * grid: 21 points for two members at 0.05, 231 for three, 1,771 for four). Ordered so the first
 * member's weight falls slowest, then the second's, …: the first point is the first member alone,
 * and a tie between points keeps the one that leans most on the earlier members.
 */
export function simplexGrid(members: number, step: number): number[][] {
  if (!Number.isInteger(members) || members < 1)
    throw new Error(`need at least one member, got ${members}`);
  const n = weightGrid(step).length - 1;
  const out: number[][] = [];
  const walk = (prefix: number[], left: number) => {
    if (prefix.length === members - 1) {
      out.push([...prefix, left].map((k) => Number((k / n).toFixed(6))));
      return;
    }
    for (let k = left; k >= 0; k--) walk([...prefix, k], left - k);
  };
  walk([], n);
  return out;
}

function checkShapes(probabilities: readonly (readonly (readonly number[])[])[], truth: readonly Label[]) {
  if (probabilities.length < 2) throw new Error('an ensemble needs at least two members');
  for (const [m, rows] of probabilities.entries())
    if (rows.length !== truth.length)
      throw new Error(`member ${m} has probabilities for ${rows.length} rows but there are ${truth.length} labels`);
  if (truth.length === 0) throw new Error('no rows to fit the ensemble weights on');
}

/** Whether the combination with these weights gets each of `rows` right. */
function correctAt(
  probabilities: readonly (readonly (readonly number[])[])[],
  truth: readonly Label[],
  rule: CombineRule,
  weights: readonly number[],
  rows: readonly number[],
): boolean[] {
  return rows.map(
    (i) =>
      predictionFrom(
        combineProbabilities(
          rule,
          probabilities.map((member) => member[i] as number[]),
          weights,
        ),
      ).label === truth[i],
  );
}

/**
 * Chooses every member's weight by accuracy on the given rows — the validation split, never the
 * held-out side — over the simplex grid. Accuracy, not log-loss: the rule is judged by the labels
 * it gets right, and the members' probabilities are not equally calibrated (the T5's are sharper),
 * which a log-loss fit rewards for the wrong reason. Ties keep the earlier grid point (see
 * simplexGrid). `rows` restricts the fit to some row indices (cross-validation).
 */
export function fitWeights(
  probabilities: readonly (readonly (readonly number[])[])[],
  truth: readonly Label[],
  rule: CombineRule,
  step: number,
  rows: readonly number[] = truth.map((_, i) => i),
): WeightsFit {
  checkShapes(probabilities, truth);
  const grid: WeightsPoint[] = [];
  let best: { point: WeightsPoint; correct: boolean[] } | undefined;
  for (const weights of simplexGrid(probabilities.length, step)) {
    const correct = correctAt(probabilities, truth, rule, weights, rows);
    const right = correct.filter(Boolean).length;
    const point = { weights, right, accuracy: right / Math.max(1, rows.length) };
    grid.push(point);
    if (!best || right > best.point.right) best = { point, correct };
  }
  const chosen = best as { point: WeightsPoint; correct: boolean[] };
  return { grid, chosen: chosen.point, correct: chosen.correct };
}

export interface CrossValidation {
  readonly folds: number;
  readonly repeats: number;
  readonly right: number;
  readonly scored: number;
  readonly accuracy: number;
}

/**
 * How well *fitting the weights on validation* generalises, measured inside validation: the rows
 * are cut into `folds` class-stratified folds (a seeded shuffle per repeat), the weights are fitted
 * on all folds but one and scored on that one, and every repeat scores every row once. The fitted
 * ensemble's own validation accuracy is optimistic (its weights were chosen on those rows, more so
 * the more members there are); this figure is not, so candidates with different numbers of members
 * are compared on it.
 */
export function crossValidateWeights(
  probabilities: readonly (readonly (readonly number[])[])[],
  truth: readonly Label[],
  rule: CombineRule,
  step: number,
  options: { folds?: number; repeats?: number; seed?: number } = {},
): CrossValidation {
  checkShapes(probabilities, truth);
  const folds = options.folds ?? 5;
  const repeats = options.repeats ?? 10;
  if (!Number.isInteger(folds) || folds < 2 || folds > truth.length)
    throw new Error(`cross-validation needs 2 to ${truth.length} folds, got ${folds}`);
  let right = 0;
  let scored = 0;
  for (let repeat = 0; repeat < repeats; repeat++) {
    const rng = createRng(`ensemble-cv:${options.seed ?? 1}:${repeat}`);
    const fold = new Array<number>(truth.length);
    // Stratified: each class's rows, shuffled, are dealt round the folds in turn.
    for (const label of new Set(truth)) {
      const rows = truth.flatMap((l, i) => (l === label ? [i] : []));
      for (let i = rows.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [rows[i], rows[j]] = [rows[j] as number, rows[i] as number];
      }
      rows.forEach((row, k) => (fold[row] = k % folds));
    }
    for (let f = 0; f < folds; f++) {
      const train = truth.flatMap((_, i) => (fold[i] !== f ? [i] : []));
      const test = truth.flatMap((_, i) => (fold[i] === f ? [i] : []));
      if (test.length === 0) continue;
      const { chosen } = fitWeights(probabilities, truth, rule, step, train);
      right += correctAt(probabilities, truth, rule, chosen.weights, test).filter(Boolean).length;
      scored += test.length;
    }
  }
  return { folds, repeats, right, scored, accuracy: right / Math.max(1, scored) };
}
