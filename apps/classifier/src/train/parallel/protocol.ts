import type { AdamWState, Seq2SeqExample, T5Config } from '@conveyor/t5';

/** Parameters travel as float32 arrays in the model's canonical (HF state_dict) order. */
export interface Replica {
  readonly config: T5Config;
  readonly weights: Float32Array[];
  readonly optimizer: AdamWState;
}

export type ToWorker =
  | {
      kind: 'init';
      replica: Replica;
      weightDecay: number;
      maxGradNorm: number;
      padTokenId: number;
      labelSmoothing: number;
    }
  | { kind: 'gradients'; rows: Seq2SeqExample[]; dropoutSeed: number }
  | { kind: 'apply'; grads: Float32Array[]; learningRate: number }
  | { kind: 'state' };

export type FromWorker =
  | { kind: 'ready'; backend: string }
  | { kind: 'gradients'; loss: number; tokens: number; grads: Float32Array[] }
  | { kind: 'applied' }
  | { kind: 'state'; weights: Float32Array[]; optimizer: AdamWState }
  | { kind: 'error'; message: string };
