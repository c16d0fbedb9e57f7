import { structureTerms } from './structure';

/**
 * TF-IDF features for the baseline: n-grams of the normalised words (unigrams and bigrams), or
 * of its characters (e.g. 3- to 5-grams, which see sub-words, misspellings and the shape of code
 * that word n-grams miss), sublinear term frequency and L2-normalised rows (the usual strong
 * setting for short-text classification). Rows are sparse: index/value pairs sorted by index.
 */
export interface SparseRow {
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

/** `structure`: the binned shape tokens of structure.ts instead of n-grams. */
export type Analyzer = 'word' | 'char' | 'structure';

export interface TermOptions {
  /** Word n-grams up to this length (analyzer `word`). */
  readonly ngrams: 1 | 2;
  /** Default `word`: manifests written before there was a choice hold word n-grams. */
  readonly analyzer?: Analyzer;
  /** Character n-gram lengths, inclusive (analyzer `char`). */
  readonly charMin?: number;
  readonly charMax?: number;
}

export interface TfidfVocabulary extends TermOptions {
  readonly terms: readonly string[];
  readonly idf: readonly number[];
}

/**
 * The terms of a text, in order, with repeats. Character n-grams run over the text padded with a
 * space at each end, across word boundaries, so a gram can also span the end of one word and the
 * start of the next (a little of what word bigrams see).
 */
export function termsOf(text: string, options: TermOptions): string[] {
  if (options.analyzer === 'structure') return structureTerms(text);
  if (options.analyzer === 'char') {
    const min = options.charMin ?? 3;
    const max = options.charMax ?? 5;
    const padded = ` ${text} `;
    const terms: string[] = [];
    for (let n = min; n <= max; n++)
      for (let i = 0; i + n <= padded.length; i++) terms.push(padded.slice(i, i + n));
    return terms;
  }
  const words = text.split(' ').filter((w) => w.length > 0);
  const terms = [...words];
  if (options.ngrams === 2)
    for (let i = 0; i + 1 < words.length; i++) terms.push(`${words[i]} ${words[i + 1]}`);
  return terms;
}

export function fitTfidf(
  texts: readonly string[],
  options: TermOptions & { minDocumentFrequency: number; maxFeatures: number },
): TfidfVocabulary {
  const documentFrequency = new Map<string, number>();
  for (const text of texts) {
    for (const term of new Set(termsOf(text, options))) {
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
    ...(options.analyzer === 'char'
      ? { analyzer: 'char' as const, charMin: options.charMin ?? 3, charMax: options.charMax ?? 5 }
      : options.analyzer === 'structure'
        ? { analyzer: 'structure' as const }
        : {}),
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
    for (const term of termsOf(text, this.vocabulary)) {
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
