// Padding token-id lists into the tensors a T5 training or scoring step consumes.
import * as tf from '@tensorflow/tfjs-core';

export interface Seq2SeqExample {
  /** Encoder token ids (normally ending in eos). */
  inputIds: number[];
  /** Target token ids the decoder must produce (normally ending in eos). */
  labels: number[];
}

export interface T5Batch {
  inputIds: tf.Tensor2D;
  attentionMask: tf.Tensor2D;
  decoderInputIds: tf.Tensor2D;
  /** int32 [B, T] targets; padding positions hold padTokenId and are excluded by labelMask. */
  labels: tf.Tensor2D;
  /** float32 [B, T]: 1 where a label counts towards the loss. */
  labelMask: tf.Tensor2D;
}

export interface CollateOptions {
  padTokenId: number;
  decoderStartTokenId: number;
  /** Truncate encoder inputs to this many tokens. */
  maxInputLength?: number;
  maxTargetLength?: number;
  /** When given, a truncated sequence that ended in this id (eos) still ends in it. */
  eosTokenId?: number;
  /** Pad lengths up to a multiple of this (fewer distinct shapes). Default 1. */
  padToMultipleOf?: number;
}

function truncate(ids: number[], max: number | undefined, eos: number | undefined): number[] {
  if (max === undefined || ids.length <= max) return ids;
  if (max < 1) throw new Error(`maximum sequence length must be at least 1, got ${max}`);
  if (eos !== undefined && ids[ids.length - 1] === eos) return [...ids.slice(0, max - 1), eos];
  return ids.slice(0, max);
}

function roundUp(n: number, multiple: number): number {
  return Math.ceil(n / multiple) * multiple;
}

/** Pads rows to one length; returns ids (int32) and a 1/0 mask. */
export function padSequences(
  rows: number[][],
  padTokenId: number,
  padToMultipleOf = 1,
): { ids: Int32Array; mask: Float32Array; length: number } {
  const length = Math.max(1, roundUp(Math.max(0, ...rows.map((r) => r.length)), padToMultipleOf));
  const ids = new Int32Array(rows.length * length).fill(padTokenId);
  const mask = new Float32Array(rows.length * length);
  rows.forEach((row, b) => {
    row.forEach((id, t) => {
      ids[b * length + t] = id;
      mask[b * length + t] = 1;
    });
  });
  return { ids, mask, length };
}

/** Decoder inputs are the labels shifted right behind decoderStartTokenId (teacher forcing). */
export function shiftRight(labels: number[], decoderStartTokenId: number): number[] {
  return [decoderStartTokenId, ...labels.slice(0, -1)];
}

export function collateSeq2Seq(examples: Seq2SeqExample[], options: CollateOptions): T5Batch {
  if (examples.length === 0) throw new Error('collateSeq2Seq needs at least one example');
  const multiple = options.padToMultipleOf ?? 1;
  const inputs = examples.map((e) =>
    truncate(e.inputIds, options.maxInputLength, options.eosTokenId),
  );
  const labels = examples.map((e) =>
    truncate(e.labels, options.maxTargetLength, options.eosTokenId),
  );
  if (labels.some((l) => l.length === 0))
    throw new Error('every example needs at least one label token');
  const enc = padSequences(inputs, options.padTokenId, multiple);
  const lab = padSequences(labels, options.padTokenId, multiple);
  const dec = padSequences(
    labels.map((l) => shiftRight(l, options.decoderStartTokenId)),
    options.padTokenId,
    multiple,
  );
  const b = examples.length;
  return {
    inputIds: tf.tensor2d(enc.ids, [b, enc.length], 'int32'),
    attentionMask: tf.tensor2d(enc.mask, [b, enc.length], 'float32'),
    decoderInputIds: tf.tensor2d(dec.ids, [b, dec.length], 'int32'),
    labels: tf.tensor2d(lab.ids, [b, lab.length], 'int32'),
    labelMask: tf.tensor2d(lab.mask, [b, lab.length], 'float32'),
  };
}

export function disposeBatch(batch: T5Batch): void {
  tf.dispose([
    batch.inputIds,
    batch.attentionMask,
    batch.decoderInputIds,
    batch.labels,
    batch.labelMask,
  ]);
}
