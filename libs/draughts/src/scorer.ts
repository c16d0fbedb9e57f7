/**
 * Position scorers for search. A score is from the point of view of the side to move:
 * positive = good for the player whose turn it is. Search scores won and lost positions itself
 * (a side without moves loses) and keeps those scores far outside any scorer's range
 * (see WIN_SCORE), so a scorer only has to return a finite number for any position.
 */
import * as bitboard from './bitboard';
import type { Position } from './position';

const popcount = bitboard.popcount; // a local copy: imported bindings are getters under CommonJS

export interface SyncScorer {
  readonly kind: 'sync';
  score(pos: Position): number;
}

/** Scores many positions per call (e.g. one neural-network batch); one value per position, same order. */
export interface BatchScorer {
  readonly kind: 'batch';
  scoreBatch(positions: readonly Position[]): Promise<Float32Array>;
}

export type Scorer = SyncScorer | BatchScorer;

export interface PieceCountOptions {
  /** Value of a king in men (default 10). */
  readonly kingValue?: number;
}

/**
 * King values of the scorers made by pieceCountScorer, so search can score material straight
 * from its bitboards instead of building a Position per leaf.
 */
export const pieceCountKingValue = new WeakMap<SyncScorer, number>();

/** Material balance: men count 1, kings `kingValue`. */
export function pieceCountScorer(options: PieceCountOptions = {}): SyncScorer {
  const kingValue = options.kingValue ?? 10;
  if (!Number.isFinite(kingValue))
    throw new RangeError(`kingValue must be a finite number, got ${kingValue}`);
  const scorer: SyncScorer = {
    kind: 'sync',
    score(pos: Position): number {
      const white = popcount(pos.white & ~pos.kings) + kingValue * popcount(pos.white & pos.kings);
      const black = popcount(pos.black & ~pos.kings) + kingValue * popcount(pos.black & pos.kings);
      return pos.turn === 'white' ? white - black : black - white;
    },
  };
  pieceCountKingValue.set(scorer, kingValue);
  return scorer;
}
