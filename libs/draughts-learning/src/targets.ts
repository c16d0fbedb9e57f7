/**
 * Training targets, per the design: for each outcome (win, draw, loss of the side to move),
 * 0 if the game did not end that way, otherwise a sigmoid ramp from 0 at the first ply to 1 at
 * the deciding ply. The ramp says "early positions barely predict the result, late ones do",
 * so the network is not pushed to call the opening a win.
 */
import { replayRecord, whiteOutcome, type GameRecord } from './game-log';
import { encodePosition, SQUARES } from './encoding';

/** Steepness of the ramp: with 6, the midpoint of the game sits at 0.5 and the first/last tenth at ~0.07/0.93. */
export const RAMP_STEEPNESS = 6;

/** Sigmoid ramp on t ∈ [0, 1], rescaled so ramp(0) = 0 and ramp(1) = 1. */
export function ramp(t: number, k = RAMP_STEEPNESS): number {
  const s = (x: number): number => 1 / (1 + Math.exp(-x));
  const lo = s(-k / 2);
  const hi = s(k / 2);
  return (s(k * (Math.min(1, Math.max(0, t)) - 0.5)) - lo) / (hi - lo);
}

export interface TrainingSet {
  readonly count: number;
  readonly tokens: Int32Array;
  readonly side: Int32Array;
  /** [count * 3]: win, draw, loss targets for the side to move. */
  readonly targets: Float32Array;
  /** Game id of each position, so validation can hold out whole games. */
  readonly gameIds: Int32Array;
}

/** Every position of every game (the final one included: its target is the decided outcome). */
export function buildTrainingSet(records: readonly GameRecord[]): TrainingSet {
  const total = records.reduce((a, r) => a + r.plies + 1, 0);
  const tokens = new Int32Array(total * SQUARES);
  const side = new Int32Array(total);
  const targets = new Float32Array(total * 3);
  const gameIds = new Int32Array(total);
  let n = 0;
  for (const record of records) {
    const white = whiteOutcome(record.result);
    const { positions } = replayRecord(record);
    const plies = positions.length - 1;
    positions.forEach((pos, ply) => {
      side[n] = encodePosition(pos, tokens, n * SQUARES);
      const mover = pos.turn === 'white' ? white : -white;
      const slot = mover > 0 ? 0 : mover === 0 ? 1 : 2;
      targets[n * 3 + slot] = plies === 0 ? 1 : ramp(ply / plies);
      gameIds[n] = record.id;
      n++;
    });
  }
  return { count: n, tokens, side, targets, gameIds };
}
