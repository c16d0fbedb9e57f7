import type { CheckersDifficulty } from '@conveyor/contracts';

export type Side = 'white' | 'black';

export const otherSide = (side: Side): Side => (side === 'white' ? 'black' : 'white');

/** Search statistics kept with each engine move, shown in the UI and handy when a move looks odd. */
export interface EngineMoveStats {
  readonly score: number;
  readonly depth: number;
  readonly nodes: number;
  readonly elapsedMs: number;
}

export type MoveRecord =
  | { readonly by: 'human'; readonly notation: string }
  | { readonly by: 'engine'; readonly notation: string; readonly stats: EngineMoveStats };

/**
 * How a game ended by a player's decision rather than by the board (those endings — no moves,
 * repetition, move limit — are derived by replaying the moves, so they are never stored).
 */
export type Termination =
  | { readonly kind: 'resignation'; readonly loser: Side }
  | { readonly kind: 'draw-claim'; readonly claimedBy: Side; readonly rule: string };

/** A game as stored: everything else (position, legal moves, status) is replayed from it. */
export interface GameRecord {
  readonly id: string;
  readonly humanSide: Side;
  readonly difficulty: CheckersDifficulty;
  readonly moves: readonly MoveRecord[];
  readonly termination: Termination | null;
  /** Bumped on every write; updates name the revision they read (optimistic concurrency). */
  readonly revision: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}
