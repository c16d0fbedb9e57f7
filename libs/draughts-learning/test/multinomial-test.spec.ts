import { benjaminiHochberg, multinomialPValue, wilsonInterval } from '../src';

function bruteForce(obs: [number, number, number], p: [number, number, number]): number {
  const n = obs[0] + obs[1] + obs[2];
  const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
  const prob = (a: number, b: number, c: number): number =>
    (fact(n) / (fact(a) * fact(b) * fact(c))) * p[0] ** a * p[1] ** b * p[2] ** c;
  const po = prob(...obs);
  let s = 0;
  for (let a = 0; a <= n; a++)
    for (let b = 0; a + b <= n; b++)
      if (prob(a, b, n - a - b) <= po * (1 + 1e-7)) s += prob(a, b, n - a - b);
  return s;
}

describe('exact multinomial test', () => {
  it('matches brute-force enumeration', () => {
    const cases: [[number, number, number], [number, number, number]][] = [
      [
        [5, 0, 0],
        [0.4, 0.3, 0.3],
      ],
      [
        [2, 3, 4],
        [0.4, 0.3, 0.3],
      ],
      [
        [10, 1, 1],
        [0.2, 0.5, 0.3],
      ],
      [
        [0, 7, 0],
        [0.45, 0.1, 0.45],
      ],
    ];
    for (const [obs, p] of cases)
      expect(multinomialPValue(obs, p)).toBeCloseTo(bruteForce(obs, p), 10);
  });

  it('gives 1 for the most likely vector and small values for lopsided counts', () => {
    expect(multinomialPValue([4, 3, 3], [0.4, 0.3, 0.3])).toBeCloseTo(1, 10);
    expect(multinomialPValue([20, 0, 0], [1, 1, 1])).toBeLessThan(1e-8);
    expect(multinomialPValue([3, 0, 0], [0, 1, 1])).toBe(0);
  });

  it('switches to the G-test for large samples and agrees roughly with the exact test', () => {
    const exact = multinomialPValue([90, 60, 50], [0.4, 0.3, 0.3], 10_000);
    const g = multinomialPValue([90, 60, 50], [0.4, 0.3, 0.3], 10);
    expect(g).toBeGreaterThan(exact / 2);
    expect(g).toBeLessThan(exact * 2);
  });

  it('rejects null proportions that sum to zero', () => {
    expect(() => multinomialPValue([1, 1, 1], [0, 0, 0])).toThrow(/positive sum/);
  });
});

describe('Benjamini–Hochberg', () => {
  it('keeps the step-up set', () => {
    // m = 5, q = 0.05: thresholds 0.01, 0.02, 0.03, 0.04, 0.05; the largest k with p(k) <= k q / m is 3.
    expect(benjaminiHochberg([0.045, 0.001, 0.5, 0.025, 0.03], 0.05)).toEqual([
      false,
      true,
      false,
      true,
      true,
    ]);
    expect(benjaminiHochberg([0.2, 0.3], 0.05)).toEqual([false, false]);
  });
});

describe('Wilson interval', () => {
  it('matches a textbook value', () => {
    const { low, high } = wilsonInterval(81, 263);
    expect(low).toBeCloseTo(0.2553, 3);
    expect(high).toBeCloseTo(0.3662, 3);
  });
});
