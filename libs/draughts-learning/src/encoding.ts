/**
 * Position → network input. The board is seen from the side to move: for Black the board is
 * turned 180° (square s ↔ 33 - s, which maps each side's start onto the other's) and colours are
 * swapped, so "own man moving up" means the same thing for both sides and the network learns one
 * game instead of two. The side to move is still given as its own embedding, since first-move
 * and tempo effects are not symmetric.
 */
import type { Position } from '@conveyor/draughts';

export const SQUARES = 32;
/** Token ids: 0 empty, 1 own man, 2 own king, 3 opponent man, 4 opponent king. */
export const PIECE_TOKENS = 5;

/** Writes the 32 tokens of `pos` at tokens[offset…]; returns the side-to-move id (0 white, 1 black). */
export function encodePosition(pos: Position, tokens: Int32Array, offset: number): number {
  const white = pos.turn === 'white';
  const own = white ? pos.white : pos.black;
  const opp = white ? pos.black : pos.white;
  for (let s = 0; s < SQUARES; s++) {
    const bit = 1 << s;
    const t =
      (own & bit) !== 0
        ? (pos.kings & bit) !== 0
          ? 2
          : 1
        : (opp & bit) !== 0
          ? (pos.kings & bit) !== 0
            ? 4
            : 3
          : 0;
    tokens[offset + (white ? s : SQUARES - 1 - s)] = t;
  }
  return white ? 0 : 1;
}

export interface EncodedBatch {
  /** [n * 32] piece tokens. */
  readonly tokens: Int32Array;
  /** [n] side to move. */
  readonly side: Int32Array;
}

export function encodePositions(positions: readonly Position[]): EncodedBatch {
  const tokens = new Int32Array(positions.length * SQUARES);
  const side = new Int32Array(positions.length);
  for (let i = 0; i < positions.length; i++)
    side[i] = encodePosition(positions[i] as Position, tokens, i * SQUARES);
  return { tokens, side };
}
