import { evaluate, evaluateClasses, evaluateQuality } from '../src/eval/metrics';
import { formatReport } from '../src/eval/report';
import type { Label } from '../src/labels';

describe('evaluateClasses', () => {
  // 10 examples with known counts: rows true, columns predicted (none, low, high).
  const truth: Label[] = [
    'none',
    'none',
    'none',
    'none',
    'low',
    'low',
    'low',
    'high',
    'high',
    'high',
  ];
  const pred: Label[] = [
    'none',
    'none',
    'low',
    'high',
    'low',
    'low',
    'none',
    'high',
    'high',
    'low',
  ];
  const report = evaluateClasses(truth, pred);

  it('builds the confusion matrix with rows true and columns predicted', () => {
    expect(report.matrix).toEqual([
      [2, 1, 1],
      [1, 2, 0],
      [0, 1, 2],
    ]);
    expect(report.accuracy).toBeCloseTo(6 / 10);
  });
  it('computes per-class precision, recall and F1', () => {
    expect(report.perClass.none.precision).toBeCloseTo(2 / 3);
    expect(report.perClass.none.recall).toBeCloseTo(2 / 4);
    expect(report.perClass.low.precision).toBeCloseTo(2 / 4);
    expect(report.perClass.low.recall).toBeCloseTo(2 / 3);
    expect(report.perClass.high.precision).toBeCloseTo(2 / 3);
    expect(report.perClass.high.f1).toBeCloseTo((2 * (2 / 3) * (2 / 3)) / (4 / 3));
    expect(report.perClass.none.support).toBe(4);
  });
  it('reports zero rather than NaN for a class never predicted', () => {
    const r = evaluateClasses(['none', 'low'], ['low', 'low']);
    expect(r.perClass.none.precision).toBe(0);
    expect(r.perClass.high.f1).toBe(0);
  });
  it('refuses mismatched lengths', () => {
    expect(() => evaluateClasses(['none'], [])).toThrow(/1 labels but predictions 0/);
  });
});

describe('two-way evaluation', () => {
  it('counts none and low as LQ', () => {
    const r = evaluateQuality(['LQ', 'LQ', 'HQ', 'HQ'], ['none', 'low', 'high', 'none']);
    expect(r.accuracy).toBeCloseTo(3 / 4);
    expect(r.matrix).toEqual([
      [1, 1, 0],
      [1, 0, 1],
    ]);
    expect(r.perQuality.HQ.recall).toBeCloseTo(1 / 2);
    expect(r.perQuality.LQ.precision).toBeCloseTo(2 / 3);
  });
  it('is chosen when any row only has HQ/LQ', () => {
    const r = evaluate(
      [
        { kind: 'class', label: 'high' },
        { kind: 'quality', quality: 'LQ' },
      ],
      ['high', 'none'],
    );
    expect(r.kind).toBe('quality');
    expect(r.accuracy).toBe(1);
  });
});

describe('formatReport', () => {
  it('prints the matrix in none/low/high order and accuracy last', () => {
    const text = formatReport(evaluateClasses(['none', 'low', 'high'], ['none', 'high', 'high']));
    const lines = text.split('\n');
    expect(lines.at(-1)).toBe('accuracy=0.6667');
    expect(text).toMatch(/true\\pred\s+none\s+low\s+high/);
    expect(text).toMatch(/\nlow\s+0\s+0\s+1\n/);
    expect(text).toMatch(/\nnone\s+1\.0000\s+1\.0000\s+1\.0000\s+1\n/);
  });
});
