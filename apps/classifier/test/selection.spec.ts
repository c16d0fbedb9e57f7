import { splitHoldout } from '../src/data/split';
import { DEFAULT_HOLDOUT } from '../src/data/holdout';
import { DEFAULT_VALIDATION, selectionSplits } from '../src/data/selection-split';
import { pairedBootstrapDifference, wilsonInterval } from '../src/eval/confidence';
import { comparisonLines, intervalLine } from '../src/eval/comparison';

// train.csv's shape: 6,750 rows, 2,250 per class.
const examples = Array.from({ length: 6750 }, (_, i) => ({
  id: `line:${i}`,
  text: `question text ${i}`,
  target: {
    kind: 'class' as const,
    label: (['none', 'low', 'high'] as const)[i % 3] as 'none' | 'low' | 'high',
  },
  line: i + 2,
}));

describe('selection splits', () => {
  const s = selectionSplits(examples, DEFAULT_HOLDOUT, DEFAULT_VALIDATION);

  it('gives train.csv 5,400 training, 675 validation and 675 held-out rows, 225 per class', () => {
    expect([s.train.length, s.validation.length, s.heldOut.length]).toEqual([5400, 675, 675]);
    for (const label of ['none', 'low', 'high']) {
      const count = (rows: typeof s.train) =>
        rows.filter((e) => e.target.kind === 'class' && e.target.label === label).length;
      expect([count(s.validation), count(s.heldOut)]).toEqual([225, 225]);
    }
  });

  it('keeps the held-out side exactly the one models have always been reported on', () => {
    const before = splitHoldout(examples, DEFAULT_HOLDOUT).validation.map((e) => e.id);
    expect(s.heldOut.map((e) => e.id)).toEqual(before);
  });

  it('is disjoint, covers every row and does not depend on row order', () => {
    const ids = [...s.train, ...s.validation, ...s.heldOut].map((e) => e.id);
    expect(new Set(ids).size).toBe(examples.length);
    const again = selectionSplits([...examples].reverse(), DEFAULT_HOLDOUT, DEFAULT_VALIDATION);
    expect(again.validation.map((e) => e.id)).toEqual(s.validation.map((e) => e.id));
    const other = selectionSplits(examples, DEFAULT_HOLDOUT, { ...DEFAULT_VALIDATION, seed: 1 });
    expect(other.heldOut.map((e) => e.id)).toEqual(s.heldOut.map((e) => e.id));
    expect(other.validation.map((e) => e.id)).not.toEqual(s.validation.map((e) => e.id));
  });
});

describe('confidence intervals', () => {
  it('computes the Wilson interval (textbook values)', () => {
    const half = wilsonInterval(50, 100);
    expect(half.low).toBeCloseTo(0.4038, 4);
    expect(half.high).toBeCloseTo(0.5962, 4);
    const shipped = wilsonInterval(522, 675); // 0.7733 on the held-out side
    expect(shipped.low).toBeCloseTo(0.7407, 3);
    expect(shipped.high).toBeCloseTo(0.8031, 3);
    expect(wilsonInterval(0, 10).low).toBe(0);
    expect(wilsonInterval(10, 10).high).toBeCloseTo(1, 12);
  });

  it('bootstraps a paired difference reproducibly, around the observed difference', () => {
    const a = Array.from({ length: 400 }, (_, i) => i % 10 < 8); // 0.80
    const b = Array.from({ length: 400 }, (_, i) => i % 10 < 7); // 0.70, right only where a is
    const d = pairedBootstrapDifference(a, b, { resamples: 1000, seed: 3 });
    expect(d.difference).toBeCloseTo(0.1, 10);
    expect(d.interval.low).toBeGreaterThan(0.06);
    expect(d.interval.high).toBeLessThan(0.14);
    expect(d.interval.low).toBeLessThan(0.1);
    expect(pairedBootstrapDifference(a, b, { resamples: 1000, seed: 3 })).toEqual(d);
    expect(() => pairedBootstrapDifference(a, b.slice(1))).toThrow(/paired rows differ/);
  });

  it('prints the interval and the baseline beside a figure', () => {
    const model = [true, true, true, false];
    const baseline = [true, false, false, false];
    expect(intervalLine(model)).toMatch(
      /^95% confidence interval \(Wilson, 3\/4 right\): \[0\.\d{4}, 0\.\d{4}\]$/,
    );
    const [acc, diff] = comparisonLines('TF-IDF baseline (x)', model, baseline);
    expect(acc).toMatch(/^TF-IDF baseline \(x\) on the same 4 rows: accuracy 0\.2500, 95% CI/);
    expect(diff).toMatch(
      /^difference \(this model − TF-IDF baseline\): \+0\.5000, paired bootstrap/,
    );
  });
});
