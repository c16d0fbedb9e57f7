import { BaselineClassifier } from '../src/baseline/baseline-model';
import { SoftmaxRegression, softmax } from '../src/baseline/softmax-regression';
import { fitTfidf, TfidfVectorizer } from '../src/baseline/tfidf';
import { loadClassifier } from '../src/model/load-classifier';
import { tempDir } from './helpers';

describe('TF-IDF', () => {
  const texts = ['apple banana', 'apple cherry', 'banana banana cherry'];
  it('builds a deterministic unigram+bigram vocabulary above the document-frequency floor', () => {
    const vocab = fitTfidf(texts, { minDocumentFrequency: 2, maxFeatures: 100, ngrams: 2 });
    expect(vocab.terms).toEqual(['apple', 'banana', 'cherry']);
    // Smoothed idf: ln((1 + n) / (1 + df)) + 1 with n = 3, df = 2.
    expect(vocab.idf[0]).toBeCloseTo(Math.log(4 / 3) + 1);
  });
  it('produces L2-normalised sublinear rows', () => {
    const v = new TfidfVectorizer(
      fitTfidf(texts, { minDocumentFrequency: 1, maxFeatures: 100, ngrams: 1 }),
    );
    const row = v.transform('banana banana cherry unknown');
    expect(Array.from(row.indices)).toEqual(
      [1, 2]
        .map((i) => v.vocabulary.terms.indexOf(['apple', 'banana', 'cherry'][i] as string))
        .sort(),
    );
    const norm = Math.hypot(...Array.from(row.values));
    expect(norm).toBeCloseTo(1, 6);
    // tf 2 → 1 + ln 2 times idf, vs tf 1 → idf: the ratio of the two values is fixed by the formula.
    const bananaIdx = Array.from(row.indices).indexOf(v.vocabulary.terms.indexOf('banana'));
    const cherryIdx = 1 - bananaIdx;
    const expected =
      ((1 + Math.log(2)) * (v.vocabulary.idf[v.vocabulary.terms.indexOf('banana')] as number)) /
      (v.vocabulary.idf[v.vocabulary.terms.indexOf('cherry')] as number);
    expect((row.values[bananaIdx] as number) / (row.values[cherryIdx] as number)).toBeCloseTo(
      expected,
      5,
    );
  });
});

describe('softmax regression', () => {
  it('softmax sums to one and is shift-invariant', () => {
    const p = softmax([1, 2, 3]);
    expect(p.reduce((a, b) => a + b)).toBeCloseTo(1);
    expect(softmax([1001, 1002, 1003])[2]).toBeCloseTo(p[2] as number);
  });
  it('learns a separable problem and its loss falls', () => {
    const rows = [0, 1, 2, 0, 1, 2].map((c) => ({
      indices: Int32Array.from([c]),
      values: Float32Array.from([1]),
    }));
    const model = new SoftmaxRegression(3, 3);
    const losses = model.fit(rows, [0, 1, 2, 0, 1, 2], {
      epochs: 20,
      learningRate: 0.5,
      l2: 0,
      seed: 1,
    });
    expect(losses.at(-1)).toBeLessThan((losses[0] as number) / 2);
    rows.slice(0, 3).forEach((row, c) => {
      const p = model.predictProbabilities(row);
      expect(p.indexOf(Math.max(...p))).toBe(c);
    });
  });
});

describe('BaselineClassifier', () => {
  it('trains, predicts, saves and loads through loadClassifier', async () => {
    const texts = [
      'great detailed question code',
      'pls help urgent',
      'which best opinion',
      'detailed code sample error',
      'urgent fix pls',
      'best opinion recommend',
    ];
    const labels = ['high', 'low', 'none', 'high', 'low', 'none'] as const;
    const { model } = BaselineClassifier.train(texts, [...labels], {
      minDocumentFrequency: 1,
      epochs: 30,
      seed: 3,
    });
    const predictions = await model.predict(['code detailed', 'pls urgent', 'opinion best']);
    expect(predictions.map((p) => p.label)).toEqual(['high', 'low', 'none']);
    const dir = tempDir('baseline');
    await model.save(dir);
    const loaded = await loadClassifier(dir);
    const again = await loaded.predict(['code detailed']);
    expect(again[0]?.probabilities.high).toBeCloseTo(predictions[0]?.probabilities.high ?? NaN, 5);
  });
});
