/**
 * TF-IDF features for the baseline: unigrams and bigrams of the normalised words, sublinear term
 * frequency and L2-normalised rows (the usual strong setting for short-text classification).
 * Rows are sparse: index/value pairs sorted by index.
 */
export interface SparseRow {
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

export interface TfidfVocabulary {
  readonly terms: readonly string[];
  readonly idf: readonly number[];
  readonly ngrams: 1 | 2;
}

function termsOf(text: string, ngrams: 1 | 2): string[] {
  const words = text.split(' ').filter((w) => w.length > 0);
  const terms = [...words];
  if (ngrams === 2)
    for (let i = 0; i + 1 < words.length; i++) terms.push(`${words[i]} ${words[i + 1]}`);
  return terms;
}

export function fitTfidf(
  texts: readonly string[],
  options: { minDocumentFrequency: number; maxFeatures: number; ngrams: 1 | 2 },
): TfidfVocabulary {
  const documentFrequency = new Map<string, number>();
  for (const text of texts) {
    for (const term of new Set(termsOf(text, options.ngrams))) {
      documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
    }
  }
  const kept = [...documentFrequency]
    .filter(([, df]) => df >= options.minDocumentFrequency)
    // Most frequent first; ties by term so the vocabulary is deterministic.
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, options.maxFeatures);
  const n = texts.length;
  return {
    terms: kept.map(([term]) => term),
    idf: kept.map(([, df]) => Math.log((1 + n) / (1 + df)) + 1),
    ngrams: options.ngrams,
  };
}

export class TfidfVectorizer {
  private readonly index: Map<string, number>;

  constructor(readonly vocabulary: TfidfVocabulary) {
    this.index = new Map(vocabulary.terms.map((term, i) => [term, i]));
  }

  get size(): number {
    return this.vocabulary.terms.length;
  }

  transform(text: string): SparseRow {
    const counts = new Map<number, number>();
    for (const term of termsOf(text, this.vocabulary.ngrams)) {
      const i = this.index.get(term);
      if (i !== undefined) counts.set(i, (counts.get(i) ?? 0) + 1);
    }
    const indices = Int32Array.from([...counts.keys()].sort((a, b) => a - b));
    const values = new Float32Array(indices.length);
    let norm = 0;
    indices.forEach((i, k) => {
      const v = (1 + Math.log(counts.get(i) as number)) * (this.vocabulary.idf[i] as number);
      values[k] = v;
      norm += v * v;
    });
    norm = Math.sqrt(norm);
    if (norm > 0) for (let k = 0; k < values.length; k++) values[k] = (values[k] as number) / norm;
    return { indices, values };
  }
}
