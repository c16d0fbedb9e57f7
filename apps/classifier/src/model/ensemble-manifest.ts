import path from 'node:path';
import { z } from 'zod';
import { holdoutSchema } from '../data/holdout';
import { validationSchema } from '../data/selection-split';

/**
 * classifier.json of an ensemble directory: member model directories (paths relative to the
 * ensemble's own directory, so the directory can be moved or shipped as a whole) and the weight
 * of each member's class probabilities in the combination.
 */
export const COMBINE_RULES = ['log-linear', 'linear'] as const;
export type CombineRule = (typeof COMBINE_RULES)[number];

const memberSchema = z.object({
  dir: z
    .string()
    .min(1)
    .refine((dir) => !path.isAbsolute(dir), {
      message: 'must be relative to the ensemble directory (an absolute path does not survive shipping)',
    }),
  weight: z.number().min(0),
  /** Informational: what the member was when the ensemble was made. */
  kind: z.string().optional(),
  version: z.string().optional(),
  /** Where the member was copied from (a path in the repository, or a directory name). */
  copiedFrom: z.string().optional(),
});
export type EnsembleMember = z.infer<typeof memberSchema>;

export const ensembleManifestSchema = z.object({
  kind: z.literal('ensemble'),
  version: z.string().min(1),
  combine: z.enum(COMBINE_RULES),
  members: z
    .array(memberSchema)
    .min(2, { message: 'an ensemble needs at least two members' })
    .refine((members) => members.some((m) => m.weight > 0), {
      message: 'every weight is 0: at least one member must count',
    }),
  /**
   * The splits the members share, so `eval --split holdout|validation` re-creates them as for a
   * single model (the same fields a T5 manifest has).
   */
  trainedOn: z
    .object({
      file: z.string(),
      rows: z.number().int(),
      holdout: holdoutSchema,
      validation: validationSchema.optional(),
    })
    .passthrough(),
  /** How the weights were chosen (rows, grid, accuracies): provenance, not read at inference. */
  fit: z.record(z.string(), z.unknown()).optional(),
});
export type EnsembleManifest = z.infer<typeof ensembleManifestSchema>;

/** Keeps log() finite: a member that is certain (p = 0 for a class) must not veto it outright. */
const FLOOR = 1e-12;

/**
 * Combines members' class probabilities (each row in LABELS order) for one input.
 * `linear`: the weighted mean of the probabilities. `log-linear`: the weighted sum of the log
 * probabilities, renormalised with a softmax (a weighted geometric mean) — it lets a confident
 * member outvote an unsure one, which a mean of probabilities dampens.
 */
export function combineProbabilities(
  rule: CombineRule,
  memberProbabilities: readonly (readonly number[])[],
  weights: readonly number[],
): number[] {
  if (memberProbabilities.length !== weights.length)
    throw new Error(`${memberProbabilities.length} members' probabilities but ${weights.length} weights`);
  const classes = (memberProbabilities[0] as readonly number[]).length;
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new Error('the ensemble weights sum to 0');
  if (rule === 'linear') {
    const out = new Array<number>(classes).fill(0);
    memberProbabilities.forEach((p, m) => {
      const w = (weights[m] as number) / total;
      for (let c = 0; c < classes; c++) out[c] = (out[c] as number) + w * (p[c] as number);
    });
    return out;
  }
  const scores = new Array<number>(classes).fill(0);
  memberProbabilities.forEach((p, m) => {
    const w = weights[m] as number;
    if (w === 0) return;
    for (let c = 0; c < classes; c++)
      scores[c] = (scores[c] as number) + w * Math.log(Math.max(FLOOR, p[c] as number));
  });
  const max = Math.max(...scores);
  const exp = scores.map((s) => Math.exp(s - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((e) => e / sum);
}
