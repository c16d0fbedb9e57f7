import * as tf from '@tensorflow/tfjs-core';
import { collateSeq2Seq, disposeBatch, shiftRight } from '../src/batch';
import { useBackend } from './helpers';

beforeAll(() => useBackend('cpu'));

describe('collateSeq2Seq', () => {
  it('pads inputs and labels, masks padding, and shifts labels right behind the start token', () => {
    const before = tf.memory().numTensors;
    const batch = collateSeq2Seq(
      [
        { inputIds: [5, 6, 7, 1], labels: [20, 21, 1] },
        { inputIds: [8, 1], labels: [22, 1] },
      ],
      { padTokenId: 0, decoderStartTokenId: 0 },
    );
    expect(batch.inputIds.arraySync()).toEqual([
      [5, 6, 7, 1],
      [8, 1, 0, 0],
    ]);
    expect(batch.attentionMask.arraySync()).toEqual([
      [1, 1, 1, 1],
      [1, 1, 0, 0],
    ]);
    expect(batch.labels.arraySync()).toEqual([
      [20, 21, 1],
      [22, 1, 0],
    ]);
    expect(batch.labelMask.arraySync()).toEqual([
      [1, 1, 1],
      [1, 1, 0],
    ]);
    expect(batch.decoderInputIds.arraySync()).toEqual([
      [0, 20, 21],
      [0, 22, 0],
    ]);
    expect(batch.inputIds.dtype).toBe('int32');
    disposeBatch(batch);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('truncates, keeping eos last when told which id it is, and pads to a multiple', () => {
    const batch = collateSeq2Seq([{ inputIds: [5, 6, 7, 8, 9, 1], labels: [20, 21, 22, 1] }], {
      padTokenId: 0,
      decoderStartTokenId: 0,
      maxInputLength: 4,
      maxTargetLength: 2,
      eosTokenId: 1,
      padToMultipleOf: 3,
    });
    expect(batch.inputIds.arraySync()).toEqual([[5, 6, 7, 1, 0, 0]]);
    expect(batch.labels.arraySync()).toEqual([[20, 1, 0]]);
    disposeBatch(batch);
    expect(shiftRight([4, 5, 1], 0)).toEqual([0, 4, 5]);
    expect(() => collateSeq2Seq([], { padTokenId: 0, decoderStartTokenId: 0 })).toThrow(
      /at least one example/,
    );
  });
});
