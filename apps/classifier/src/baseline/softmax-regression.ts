import type { SparseRow } from './tfidf';

/** A seeded PRNG (mulberry32) so training order, and therefore the model, is reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number);
  const exps = Array.from(logits, (x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/**
 * Multinomial logistic regression on sparse rows, trained with AdaGrad and L2 regularisation.
 * Written here rather than taken from a library because the JS ones (ml-logistic-regression)
 * use dense matrices: 6k rows × 50k TF-IDF features densely is 300M floats.
 * Weights are class-major: weights[c * features + j].
 */
export class SoftmaxRegression {
  constructor(
    readonly classes: number,
    readonly features: number,
    readonly weights: Float64Array = new Float64Array(classes * features),
    readonly bias: Float64Array = new Float64Array(classes),
  ) {}

  logits(row: SparseRow): number[] {
    const out = Array.from(this.bias);
    for (let c = 0; c < this.classes; c++) {
      const base = c * this.features;
      let sum = out[c] as number;
      for (let k = 0; k < row.indices.length; k++) {
        sum +=
          (this.weights[base + (row.indices[k] as number)] as number) * (row.values[k] as number);
      }
      out[c] = sum;
    }
    return out;
  }

  predictProbabilities(row: SparseRow): number[] {
    return softmax(this.logits(row));
  }

  /** Returns the mean cross-entropy of each epoch (for the learning curve and tests). */
  fit(
    rows: readonly SparseRow[],
    targets: readonly number[],
    options: { epochs: number; learningRate: number; l2: number; seed: number },
  ): number[] {
    const random = seededRandom(options.seed);
    const gradSqW = new Float64Array(this.weights.length).fill(1e-8);
    const gradSqB = new Float64Array(this.classes).fill(1e-8);
    const order = rows.map((_, i) => i);
    const losses: number[] = [];
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j] as number, order[i] as number];
      }
      let loss = 0;
      for (const n of order) {
        const row = rows[n] as SparseRow;
        const target = targets[n] as number;
        const probabilities = this.predictProbabilities(row);
        loss -= Math.log(Math.max(probabilities[target] as number, 1e-12));
        for (let c = 0; c < this.classes; c++) {
          const error = (probabilities[c] as number) - (c === target ? 1 : 0);
          const base = c * this.features;
          for (let k = 0; k < row.indices.length; k++) {
            const w = base + (row.indices[k] as number);
            // L2 is applied lazily to the weights a row touches, which keeps each step sparse.
            const g = error * (row.values[k] as number) + options.l2 * (this.weights[w] as number);
            gradSqW[w] = (gradSqW[w] as number) + g * g;
            this.weights[w] =
              (this.weights[w] as number) -
              (options.learningRate * g) / Math.sqrt(gradSqW[w] as number);
          }
          gradSqB[c] = (gradSqB[c] as number) + error * error;
          this.bias[c] =
            (this.bias[c] as number) -
            (options.learningRate * error) / Math.sqrt(gradSqB[c] as number);
        }
      }
      losses.push(loss / Math.max(1, rows.length));
    }
    return losses;
  }
}
