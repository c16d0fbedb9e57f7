import { z } from 'zod';
import { holdoutSchema } from '../data/holdout';

/**
 * classifier.json for a T5 model directory. config.json, model.safetensors and tokenizer.json
 * beside it are the standard HuggingFace files (loadable by transformers); this file adds what
 * the classifier needs on top: the input prefix, the truncation window, how it was trained and
 * what it measured.
 */
export const t5ManifestSchema = z.object({
  kind: z.literal('t5'),
  /** Identifies this model in responses, e.g. `t5-so-quality-<date>`. */
  version: z.string().min(1),
  /** The task prefix: input = `${prefix}${normalised title + body}`. */
  prefix: z.string(),
  /** Whether the input starts with a summary of the question's shape (t5-input.ts); absent = no. */
  shapeSummary: z.boolean().default(false),
  headTokens: z.number().int().min(1),
  tailTokens: z.number().int().min(0),
  trainedOn: z
    .object({
      file: z.string(),
      rows: z.number().int(),
      holdout: holdoutSchema,
    })
    .passthrough(),
  training: z.record(z.string(), z.unknown()).optional(),
  /** Accuracy and friends measured on the held-out split at the end of training. */
  metrics: z.record(z.string(), z.unknown()).optional(),
});
export type T5Manifest = z.infer<typeof t5ManifestSchema>;

export const T5_PREFIX = 'quality: ';
