import { BaselineClassifier } from '../src/baseline/baseline-model';
import { SoftmaxRegression, softmax } from '../src/baseline/softmax-regression';
import { logBin, structureTerms } from '../src/baseline/structure';
import { fitTfidf, termsOf, TfidfVectorizer } from '../src/baseline/tfidf';
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

describe('character n-grams and structural tokens', () => {
  it('cuts character n-grams across word boundaries of the padded text', () => {
    expect(termsOf('ab cd', { ngrams: 2, analyzer: 'char', charMin: 3, charMax: 4 })).toEqual([
      ' ab',
      'ab ',
      'b c',
      ' cd',
      'cd ',
      ' ab ',
      'ab c',
      'b cd',
      ' cd ',
    ]);
    // Manifests written before the analyzer existed hold word n-grams.
    expect(termsOf('ab cd', { ngrams: 2 })).toEqual(['ab', 'cd', 'ab cd']);
  });

  it('writes length, markup counts and code position as binned tokens', () => {
    expect([0, 1, 2, 3, 5, 9, 1e6].map(logBin)).toEqual([0, 1, 2, 3, 3, 4, 15]);
    const text = 'title words pre code x = 1 code pre more text href http example com';
    const terms = structureTerms(text);
    expect(terms).toContain(`len:${logBin(16)}`);
    expect(terms).toContain(`pre:${logBin(2)}`);
    expect(terms).toContain(`href:${logBin(1)}`);
    expect(terms).toContain('img:0');
    expect(terms).toContain(`firstpre:${logBin(2)}`);
    expect(terms).toContain(`lastpre:${logBin(16 - 9)}`);
    expect(structureTerms('no markup at all')).toContain('firstpre:none');
    // One token per feature: a fixed vocabulary, whatever the text.
    expect(new Set(terms.map((t) => t.split(':')[0])).size).toBe(terms.length);
    expect(structureTerms('x').length).toBe(terms.length);
  });

  it('trains, saves and loads a structure or char baseline with its analyzer', async () => {
    const texts = [
      'long question pre code a b c code pre href http x com',
      'help pls',
      'another long one pre code d e f code pre img src y png',
      'urgent help',
    ];
    const labels = ['high', 'low', 'high', 'low'] as const;
    for (const options of [
      { analyzer: 'structure' as const },
      { analyzer: 'char' as const, charMin: 2, charMax: 3 },
    ]) {
      const { model } = BaselineClassifier.train(texts, [...labels], {
        ...options,
        minDocumentFrequency: 1,
        epochs: 30,
        seed: 2,
      });
      const dir = tempDir(`baseline-${options.analyzer}`);
      await model.save(dir);
      const loaded = await loadClassifier(dir);
      expect(loaded.description).toMatchObject(options);
      // Weights are stored as float32: the same labels, probabilities to float32 rounding.
      const [after, before] = [await loaded.predict(texts), await model.predict(texts)];
      expect(after.map((p) => p.label)).toEqual(before.map((p) => p.label));
      after.forEach((p, i) =>
        expect(p.probabilities.high).toBeCloseTo(before[i]?.probabilities.high as number, 6),
      );
      expect((await loaded.predict(['one more long pre code z code pre']))[0]?.label).toBe('high');
    }
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
