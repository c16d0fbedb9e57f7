/**
 * Exact multinomial goodness-of-fit test over three outcomes (win/draw/loss), and the
 * Benjamini–Hochberg step-up procedure for many such tests at once.
 *
 * p-value = total probability, under the null proportions, of every outcome vector with the same
 * number of games that is no more likely than the observed one. This is the "low probability
 * mass under the position's distribution" criterion of the design, made exact; it needs no
 * large-sample approximation, which matters because most opening moves have few games.
 * Above `exactLimit` games the enumeration (O(n²) vectors) gives way to the G-test, whose
 * statistic is χ² with 2 degrees of freedom, so p = exp(-G/2) exactly for that distribution.
 */

export type Counts3 = readonly [number, number, number];

function logFactorials(n: number): Float64Array {
  const t = new Float64Array(n + 1);
  for (let i = 2; i <= n; i++) t[i] = (t[i - 1] as number) + Math.log(i);
  return t;
}

const LOG_FACT_CACHE: { table: Float64Array } = { table: logFactorials(64) };

function logFact(n: number): number {
  if (n >= LOG_FACT_CACHE.table.length)
    LOG_FACT_CACHE.table = logFactorials(Math.max(n, 2 * LOG_FACT_CACHE.table.length));
  return LOG_FACT_CACHE.table[n] as number;
}

function logProb(a: number, b: number, c: number, logP: readonly number[]): number {
  const n = a + b + c;
  let s = logFact(n) - logFact(a) - logFact(b) - logFact(c);
  // 0 * log 0 = 0: an outcome with null probability 0 and count 0 adds nothing.
  if (a > 0) s += a * (logP[0] as number);
  if (b > 0) s += b * (logP[1] as number);
  if (c > 0) s += c * (logP[2] as number);
  return s;
}

/** p-value of `observed` under the null proportions `p` (need not be normalised). */
export function multinomialPValue(
  observed: Counts3,
  p: readonly [number, number, number],
  exactLimit = 1500,
): number {
  const total = p[0] + p[1] + p[2];
  if (!(total > 0))
    throw new RangeError(`null proportions must have a positive sum, got ${p.join(',')}`);
  const q = p.map((x) => x / total);
  const n = observed[0] + observed[1] + observed[2];
  if (n === 0) return 1;
  for (let k = 0; k < 3; k++) if ((q[k] as number) === 0 && (observed[k] as number) > 0) return 0;
  if (n > exactLimit) {
    let g = 0;
    for (let k = 0; k < 3; k++) {
      const o = observed[k] as number;
      if (o > 0) g += 2 * o * Math.log(o / (n * (q[k] as number)));
    }
    return Math.min(1, Math.exp(-g / 2));
  }
  const logP = q.map((x) => (x > 0 ? Math.log(x) : -Infinity));
  const observedLog = logProb(observed[0], observed[1], observed[2], logP);
  // Relative tolerance: vectors as likely as the observed one (up to rounding) count as "no more likely".
  const threshold = observedLog + 1e-7 * Math.max(1, Math.abs(observedLog));
  let sum = 0;
  for (let a = 0; a <= n; a++) {
    if (q[0] === 0 && a > 0) break;
    for (let b = 0; a + b <= n; b++) {
      const c = n - a - b;
      if ((q[1] === 0 && b > 0) || (q[2] === 0 && c > 0)) continue;
      const lp = logProb(a, b, c, logP);
      if (lp <= threshold) sum += Math.exp(lp);
    }
  }
  return Math.min(1, sum);
}

/** Which of the p-values are discoveries at false-discovery rate `q` (Benjamini–Hochberg step-up). */
export function benjaminiHochberg(pValues: readonly number[], q: number): boolean[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
  let cutoff = -1;
  for (let k = 0; k < m; k++) if ((order[k]?.[0] as number) <= ((k + 1) / m) * q) cutoff = k;
  const out = new Array<boolean>(m).fill(false);
  for (let k = 0; k <= cutoff; k++) out[order[k]?.[1] as number] = true;
  return out;
}

/** Wilson score interval for a proportion (z = 1.96: 95%). */
export function wilsonInterval(
  successes: number,
  n: number,
  z = 1.96,
): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 1 };
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}
