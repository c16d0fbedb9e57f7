import { createRng } from '@conveyor/t5';

/** Two-sided 95 % normal quantile. */
const Z95 = 1.959963984540054;

export interface Interval {
  readonly low: number;
  readonly high: number;
}

/**
 * Wilson score interval for a proportion (accuracy = correct / n). Unlike the normal
 * approximation it stays inside [0, 1] and behaves at small n, which matters for 675 rows.
 */
export function wilsonInterval(correct: number, n: number, z = Z95): Interval {
  if (n <= 0) return { low: 0, high: 1 };
  const p = correct / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/**
 * Paired bootstrap of the accuracy difference between two models scored on the same rows
 * (`a[i]`, `b[i]` say whether each got row i right). Resampling rows keeps the pairing, so the
 * interval reflects that both models find the same rows hard — much tighter than comparing two
 * independent intervals. Seeded, so a report is reproducible.
 */
export function pairedBootstrapDifference(
  a: readonly boolean[],
  b: readonly boolean[],
  options: { resamples?: number; seed?: number } = {},
): { difference: number; interval: Interval; resamples: number; seed: number } {
  if (a.length !== b.length) throw new Error(`paired rows differ: ${a.length} vs ${b.length}`);
  const n = a.length;
  const resamples = options.resamples ?? 2000;
  const seed = options.seed ?? 1;
  const diff = a.map((x, i) => Number(x) - Number(b[i]));
  const total = diff.reduce((s, d) => s + d, 0);
  if (n === 0) return { difference: 0, interval: { low: 0, high: 0 }, resamples, seed };
  const rng = createRng(`bootstrap:${seed}`);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += diff[rng.int(n)] as number;
    means[r] = s / n;
  }
  means.sort();
  const at = (q: number) => means[Math.min(resamples - 1, Math.floor(q * resamples))] as number;
  return { difference: total / n, interval: { low: at(0.025), high: at(0.975) }, resamples, seed };
}
