import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { LABELS, labelIndex, type Label } from '../labels';
import { predictionFrom, type Prediction, type QualityClassifier } from '../model/prediction';
import { SoftmaxRegression } from './softmax-regression';
import { fitTfidf, TfidfVectorizer } from './tfidf';

export const baselineOptionsSchema = z.object({
  minDocumentFrequency: z.number().int().min(1).default(2),
  maxFeatures: z.number().int().min(10).default(50_000),
  ngrams: z.union([z.literal(1), z.literal(2)]).default(2),
  /**
   * `word` n-grams (up to `ngrams`), `char` n-grams of charMin–charMax characters, or the
   * `structure` tokens of structure.ts (length, markup and code counts, binned).
   */
  analyzer: z.enum(['word', 'char', 'structure']).default('word'),
  charMin: z.number().int().min(1).default(3),
  charMax: z.number().int().min(1).default(5),
  epochs: z.number().int().min(1).default(8),
  learningRate: z.number().positive().default(0.5),
  l2: z.number().min(0).default(1e-5),
  seed: z.number().int().default(42),
});
export type BaselineOptions = z.infer<typeof baselineOptionsSchema>;

const manifestSchema = z.object({
  kind: z.literal('tfidf-logreg'),
  labels: z.array(z.string()),
  options: baselineOptionsSchema,
  terms: z.array(z.string()),
  idf: z.array(z.number()),
  trainedOn: z.record(z.string(), z.unknown()),
});

export class BaselineClassifier implements QualityClassifier {
  readonly kind = 'tfidf-logreg' as const;
  readonly maxBatchSize = 1024;

  constructor(
    private readonly vectorizer: TfidfVectorizer,
    private readonly regression: SoftmaxRegression,
    readonly options: BaselineOptions,
    readonly trainedOn: Record<string, unknown>,
  ) {}

  get description(): Record<string, unknown> {
    return {
      kind: this.kind,
      features: this.vectorizer.size,
      ...this.options,
      trainedOn: this.trainedOn,
    };
  }

  static train(
    texts: readonly string[],
    labels: readonly Label[],
    options: Partial<BaselineOptions>,
    trainedOn: Record<string, unknown> = {},
  ): { model: BaselineClassifier; losses: number[] } {
    const resolved = baselineOptionsSchema.parse(options);
    const vectorizer = new TfidfVectorizer(fitTfidf(texts, resolved));
    const regression = new SoftmaxRegression(LABELS.length, vectorizer.size);
    const losses = regression.fit(
      texts.map((t) => vectorizer.transform(t)),
      labels.map(labelIndex),
      resolved,
    );
    return { model: new BaselineClassifier(vectorizer, regression, resolved, trainedOn), losses };
  }

  predictOne(text: string): Prediction {
    return predictionFrom(this.regression.predictProbabilities(this.vectorizer.transform(text)));
  }

  async predict(texts: readonly string[]): Promise<Prediction[]> {
    return texts.map((text) => this.predictOne(text));
  }

  dispose(): void {
    // Plain JS arrays: nothing to free (the T5 model releases tensor memory here).
  }

  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const manifest: z.infer<typeof manifestSchema> = {
      kind: this.kind,
      labels: [...LABELS],
      options: this.options,
      terms: [...this.vectorizer.vocabulary.terms],
      idf: [...this.vectorizer.vocabulary.idf],
      trainedOn: this.trainedOn,
    };
    await writeFile(path.join(dir, 'classifier.json'), JSON.stringify(manifest));
    const params = new Float32Array(this.regression.weights.length + this.regression.bias.length);
    params.set(this.regression.weights);
    params.set(this.regression.bias, this.regression.weights.length);
    await writeFile(path.join(dir, 'weights.bin'), Buffer.from(params.buffer));
  }

  static async load(dir: string, manifestJson: unknown): Promise<BaselineClassifier> {
    const manifest = manifestSchema.parse(manifestJson);
    const bytes = await readFile(path.join(dir, 'weights.bin'));
    const params = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const features = manifest.terms.length;
    const expected = LABELS.length * features + LABELS.length;
    if (params.length !== expected) {
      throw new Error(
        `${dir}/weights.bin has ${params.length} parameters, the manifest implies ${expected}; re-train the baseline`,
      );
    }
    const regression = new SoftmaxRegression(
      LABELS.length,
      features,
      Float64Array.from(params.subarray(0, LABELS.length * features)),
      Float64Array.from(params.subarray(LABELS.length * features)),
    );
    const { ngrams, analyzer, charMin, charMax } = manifest.options;
    const vectorizer = new TfidfVectorizer({
      terms: manifest.terms,
      idf: manifest.idf,
      ngrams,
      ...(analyzer === 'char'
        ? { analyzer, charMin, charMax }
        : analyzer === 'structure'
          ? { analyzer }
          : {}),
    });
    return new BaselineClassifier(vectorizer, regression, manifest.options, manifest.trainedOn);
  }
}
