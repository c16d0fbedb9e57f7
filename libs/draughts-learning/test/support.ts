/* eslint-disable @typescript-eslint/no-non-null-assertion -- in tests a missing value throws and fails the test, which is what we want */
/** What the network tests share: random positions, the training forward's logits, a diff. */
import * as tf from '@tensorflow/tfjs-core';
import {
  createRng,
  initialPosition,
  legalMoves,
  makeMove,
  type Position,
} from '@conveyor/draughts';
import { encodePositions, forward, SQUARES, type Params, type TransformerConfig } from '../src';

/** Positions from random play, both sides to move, kings included once the games run long. */
export function randomPositions(count: number, seed: number): Position[] {
  const next = createRng(seed);
  const out: Position[] = [];
  while (out.length < count) {
    let pos = initialPosition();
    for (let ply = 0; ply < 120 && out.length < count; ply++) {
      const moves = legalMoves(pos);
      if (moves.length === 0) break;
      pos = makeMove(pos, moves[next() % moves.length]!);
      if (next() % 3 === 0) out.push(pos);
    }
  }
  return out;
}

/** The training forward's logits for `positions`, read once (the reference the fast paths match). */
export function trainingLogits(
  params: Params,
  config: TransformerConfig,
  positions: Position[],
): Float32Array {
  const { tokens, side } = encodePositions(positions);
  const t = tf.tidy(() =>
    forward(
      params,
      config,
      tf.tensor2d(tokens, [positions.length, SQUARES], 'int32'),
      tf.tensor1d(side, 'int32'),
    ),
  );
  const out = t.dataSync() as Float32Array;
  t.dispose();
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
