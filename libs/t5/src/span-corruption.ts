// T5's unsupervised objective (Raffel et al. 2020, "random_spans_noise_mask" in t5.data): mask
// ~noiseDensity of the tokens in spans of mean length meanSpanLength; the input keeps the rest
// with one sentinel per span, the target lists each sentinel followed by the tokens it hid.
import type { Rng } from './random';

export interface SpanCorruptionOptions {
  noiseDensity?: number;
  meanSpanLength?: number;
  /** Id of the i-th sentinel (<extra_id_i>). */
  sentinelId: (i: number) => number;
  eosTokenId: number;
  rng: Rng;
}

/** Splits `total` items into `parts` positive segment lengths, uniformly at random. */
function randomSegmentation(total: number, parts: number, rng: Rng): number[] {
  // Choose parts-1 distinct cut points among the total-1 gaps.
  const gaps = Array.from({ length: total - 1 }, (_, i) => i + 1);
  for (let i = 0; i < parts - 1; i++) {
    const j = i + rng.int(gaps.length - i);
    [gaps[i], gaps[j]] = [gaps[j] as number, gaps[i] as number];
  }
  const cuts = gaps.slice(0, parts - 1).sort((a, b) => a - b);
  const lengths: number[] = [];
  let prev = 0;
  for (const c of [...cuts, total]) {
    lengths.push(c - prev);
    prev = c;
  }
  return lengths;
}

/** Boolean mask (true = noise) of length `length`, following t5.data.preprocessors.random_spans_noise_mask. */
export function randomSpansNoiseMask(
  length: number,
  noiseDensity: number,
  meanSpanLength: number,
  rng: Rng,
): boolean[] {
  if (length < 2) return new Array<boolean>(length).fill(false);
  let numNoise = Math.round(length * noiseDensity);
  numNoise = Math.min(Math.max(numNoise, 1), length - 1);
  const numSpans = Math.max(1, Math.round(numNoise / meanSpanLength));
  const numNonNoise = length - numNoise;
  const spans = Math.min(numSpans, numNoise, numNonNoise);
  const noiseLengths = randomSegmentation(numNoise, spans, rng);
  const keepLengths = randomSegmentation(numNonNoise, spans, rng);
  const mask: boolean[] = [];
  for (let i = 0; i < spans; i++) {
    for (let k = 0; k < (keepLengths[i] as number); k++) mask.push(false);
    for (let k = 0; k < (noiseLengths[i] as number); k++) mask.push(true);
  }
  return mask;
}

export interface SpanCorruptionExample {
  inputIds: number[];
  labels: number[];
}

/** Builds one pre-training example from a token sequence (without eos); both sides end in eos. */
export function spanCorruption(
  tokens: number[],
  options: SpanCorruptionOptions,
): SpanCorruptionExample {
  const mask = randomSpansNoiseMask(
    tokens.length,
    options.noiseDensity ?? 0.15,
    options.meanSpanLength ?? 3,
    options.rng,
  );
  const inputIds: number[] = [];
  const labels: number[] = [];
  let sentinel = 0;
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i] as number;
    if (mask[i]) {
      if (i === 0 || !mask[i - 1]) {
        const s = options.sentinelId(sentinel++);
        inputIds.push(s);
        labels.push(s);
      }
      labels.push(tok);
    } else {
      inputIds.push(tok);
    }
  }
  inputIds.push(options.eosTokenId);
  labels.push(options.eosTokenId);
  return { inputIds, labels };
}
