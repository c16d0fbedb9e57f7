import {
  collateSeq2Seq,
  disposeBatch,
  type AdamW,
  type Seq2SeqExample,
  type T5Model,
} from '@conveyor/t5';
import { trainStep } from './train-step';

export interface StepInput {
  readonly rows: readonly Seq2SeqExample[];
  readonly learningRate: number;
  /** Names this step's random streams: `${seed}:step:${n}`. */
  readonly stepKey: string;
  /** The single-threaded dropout stream (continues the stream the step's rows were drawn from). */
  readonly nextDropoutSeed: () => number;
}

/**
 * Runs optimisation steps. The main thread's model and optimiser are what evaluations and
 * checkpoints read; `sync` brings them up to date when steps ran elsewhere (worker threads).
 */
export interface StepEngine {
  readonly threads: number;
  step(input: StepInput): Promise<{ loss: number }>;
  sync(): Promise<void>;
  dispose(): Promise<void>;
}

/** One thread: the step runs on the main thread's model. */
export function singleThreadEngine(
  model: T5Model,
  optimizer: AdamW,
  options: { maxGradNorm: number; padTokenId: number; labelSmoothing?: number },
): StepEngine {
  return {
    threads: 1,
    step: async (input) => {
      const batch = collateSeq2Seq([...input.rows], {
        padTokenId: options.padTokenId,
        decoderStartTokenId: model.config.decoderStartTokenId,
      });
      try {
        const { loss } = trainStep(model, optimizer, batch, {
          learningRate: input.learningRate,
          maxGradNorm: options.maxGradNorm,
          nextDropoutSeed: input.nextDropoutSeed,
          labelSmoothing: options.labelSmoothing ?? 0,
        });
        return { loss };
      } finally {
        disposeBatch(batch);
      }
    },
    sync: async () => undefined,
    dispose: async () => undefined,
  };
}
