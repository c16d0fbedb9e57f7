import type { Label } from '../labels';
import { combineProbabilities, type CombineRule } from './ensemble-manifest';
import { predictionFrom } from './prediction';

export interface GridPoint {
  /** The baseline's weight; the T5's is 1 − this. */
  readonly baselineWeight: number;
  readonly right: number;
  readonly accuracy: number;
}

export interface WeightFit {
  readonly grid: GridPoint[];
  readonly chosen: GridPoint;
  /** Whether the chosen combination gets each row right (for intervals and paired comparisons). */
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
 * Chooses the baseline's weight w (the T5 gets 1 − w) by accuracy on the given rows — the
 * validation split, never the held-out side. Ties go to the smaller baseline weight: the least
 * departure from the T5 alone that does as well. Every grid point is returned for the log.
 */
export function fitBaselineWeight(
  t5: readonly (readonly number[])[],
  baseline: readonly (readonly number[])[],
  truth: readonly Label[],
  rule: CombineRule,
  step: number,
): WeightFit {
  if (t5.length !== truth.length || baseline.length !== truth.length)
    throw new Error(
      `probabilities for ${t5.length} and ${baseline.length} rows but ${truth.length} labels`,
    );
  if (truth.length === 0) throw new Error('no rows to fit the ensemble weight on');
  const correctAt = (w: number) =>
    truth.map(
      (label, i) =>
        predictionFrom(
          combineProbabilities(rule, [t5[i] as number[], baseline[i] as number[]], [1 - w, w]),
        ).label === label,
    );
  const grid: GridPoint[] = [];
  let best: { point: GridPoint; correct: boolean[] } | undefined;
  for (const w of weightGrid(step)) {
    const correct = correctAt(w);
    const right = correct.filter(Boolean).length;
    const point = { baselineWeight: w, right, accuracy: right / truth.length };
    grid.push(point);
    // Strictly better only: the grid ascends, so a tie keeps the smaller baseline weight.
    if (!best || right > best.point.right) best = { point, correct };
  }
  const chosen = best as { point: GridPoint; correct: boolean[] };
  return { grid, chosen: chosen.point, correct: chosen.correct };
}
