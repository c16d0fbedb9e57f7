import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { candidateProbabilities, initBackend, loadT5, saveT5, scoreCandidates, T5Tokenizer, type T5Model } from '@conveyor/t5';
import { LABELS } from '../labels';
import { predictionFrom, type Prediction, type QualityClassifier } from './prediction';
import { t5InputText } from './t5-input';
import { t5ManifestSchema, type T5Manifest } from './t5-manifest';
import { keepHeadAndTail } from './truncate';

let backend: Promise<string> | undefined;
/** Picks the TensorFlow.js backend once per process (TFJS_BACKEND overrides; see libs/tfjs-runtime). */
export function ensureBackend(): Promise<string> {
  backend ??= initBackend().then((choice) => choice.name);
  return backend;
}

/**
 * Splits a batch into runs of similar length: a batch is padded to its longest input, so mixing
 * a 40-token question with a 512-token one would make the short one cost 512 tokens of compute.
 * Inputs are sorted by length and a new run starts when the longest would exceed twice the shortest.
 */
export function lengthRuns(lengths: readonly number[], maxRun: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => (lengths[a] as number) - (lengths[b] as number));
  const runs: number[][] = [];
  let current: number[] = [];
  for (const i of order) {
    const first = current[0];
    if (current.length > 0 && (current.length >= maxRun || (lengths[i] as number) > 2 * Math.max(8, lengths[first as number] as number))) {
      runs.push(current);
      current = [];
    }
    current.push(i);
  }
  if (current.length > 0) runs.push(current);
  return runs;
}

/**
 * The design's classifier: encoder input `quality: <title> <body>` cut to the manifest's window
 * (first 256 + last 256 tokens in the design, 128 + 64 in the shipped model); the decoder scores the three class words, and a softmax over those scores gives the
 * class probabilities (the same ranking greedy decoding restricted to the class words would give).
 */
export class T5QualityClassifier implements QualityClassifier {
  readonly kind = 't5' as const;
  readonly maxBatchSize = 64;
  private readonly candidates: number[][];

  constructor(
    readonly model: T5Model,
    readonly tokenizer: T5Tokenizer,
    readonly manifest: T5Manifest,
  ) {
    this.candidates = LABELS.map((label) => tokenizer.encode(label));
  }

  get description(): Record<string, unknown> {
    return {
      kind: this.kind,
      version: this.manifest.version,
      config: {
        dModel: this.model.config.dModel,
        layers: this.model.config.numLayers,
        vocabSize: this.model.config.vocabSize,
      },
      trainedOn: this.manifest.trainedOn,
      ...(this.manifest.metrics ? { metrics: this.manifest.metrics } : {}),
    };
  }

  static async load(dir: string, manifestJson: unknown): Promise<T5QualityClassifier> {
    const parsed = t5ManifestSchema.safeParse(manifestJson);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new Error(`${path.join(dir, 'classifier.json')} is not a valid T5 classifier manifest (${issues})`);
    }
    await ensureBackend();
    return new T5QualityClassifier(loadT5(dir), T5Tokenizer.fromPath(dir), parsed.data);
  }

  async save(dir: string): Promise<void> {
    await saveT5(this.model, dir);
    this.tokenizer.save(dir);
    await writeFile(path.join(dir, 'classifier.json'), JSON.stringify(this.manifest, null, 2) + '\n');
  }

  /** Token ids the encoder sees for a normalised question text. */
  encode(text: string): number[] {
    return keepHeadAndTail(this.tokenizer.encode(t5InputText(this.manifest, text)), this.manifest.headTokens, this.manifest.tailTokens);
  }

  /** Class probabilities (LABELS order) for already-encoded inputs. */
  probabilitiesFor(inputs: number[][]): number[][] {
    const out: number[][] = new Array<number[]>(inputs.length);
    for (const run of lengthRuns(inputs.map((ids) => ids.length), this.maxBatchSize)) {
      const scores = scoreCandidates(this.model, run.map((i) => inputs[i] as number[]), this.candidates);
      candidateProbabilities(scores).forEach((p, k) => (out[run[k] as number] = p));
    }
    return out;
  }

  async predict(texts: readonly string[]): Promise<Prediction[]> {
    if (texts.length === 0) return [];
    return this.probabilitiesFor(texts.map((t) => this.encode(t))).map(predictionFrom);
  }

  dispose(): void {
    this.model.dispose();
  }
}
