import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineMoveOutcome } from '@conveyor/contracts';
import {
  initialPosition,
  legalMoves,
  makeMove,
  type Move,
  type Position,
} from '@conveyor/draughts';
import {
  BUNDLED_MODEL_DIR,
  loadModel,
  materialPlusNeural,
  neuralScorer,
  rankingPositions,
  rankTiedMoves,
  type NeuralScorer,
} from '@conveyor/draughts-learning';
import { initBackend } from '@conveyor/tfjs-runtime';

/** How the hard level's tie-break ended (the contract's `tieBreak.by`). */
export type TieBreakBy = NonNullable<
  Extract<EngineMoveOutcome, { kind: 'move' }>['tieBreak']
>['by'];

/**
 * The network as an engine thread holds it: loaded once when the thread starts, or the reason
 * it could not be (then hard plays the alpha-beta choice and says `unavailable`).
 */
export type NeuralState =
  | {
      readonly kind: 'ready';
      /** Material (men 1, kings 3) + the network's P(win) − P(loss): see materialPlusNeural. */
      readonly scorer: NeuralScorer;
      readonly backend: string;
      readonly modelDir: string;
      /** Measured positions per millisecond of this thread's recent model calls (for planning). */
      positionsPerMs: number;
    }
  | { readonly kind: 'unavailable'; readonly reason: string; readonly modelDir: string };

const START = initialPosition();

/** Model directory: MODEL_DIR-style override, else the model committed with the library. */
export function modelDirOf(configured: string | undefined): string {
  return configured ?? BUNDLED_MODEL_DIR;
}

/**
 * Chooses the TensorFlow.js backend (TFJS_BACKEND or the fastest available; wasm here) and loads
 * the model. Never throws: a missing or broken model is a state, so the engine keeps serving.
 */
export async function loadNeural(
  modelDir: string,
  log: (message: string) => void,
): Promise<NeuralState> {
  if (!existsSync(join(modelDir, 'model.json')))
    return { kind: 'unavailable', reason: `no model.json in ${modelDir}`, modelDir };
  try {
    const backend = await initBackend({ label: 'checkers engine thread', log });
    const scorer = materialPlusNeural(neuralScorer(loadModel(modelDir)), 1);
    // One call so the first real request doesn't pay for kernel compilation and buffer set-up.
    scorer.scoreSync([makeMove(START, legalMoves(START)[0] as Move)]);
    return { kind: 'ready', scorer, backend: backend.name, modelDir, positionsPerMs: 1 };
  } catch (error) {
    return {
      kind: 'unavailable',
      reason: `loading the model from ${modelDir} failed: ${(error as Error).message}`,
      modelDir,
    };
  }
}

/** Fixed cost of one model call on top of its positions (encoding, dispatch, reading back). */
const CALL_OVERHEAD_MS = 5;

export interface TieBreakPlan {
  /** 1: every reply to every tied move is scored; 0: the positions after the tied moves. */
  readonly depth: 0 | 1;
  /** Positions in the one model call. */
  readonly positions: number;
  readonly expectedMs: number;
}

/**
 * The deeper ranking expected to finish within `remainingMs` at this thread's measured network
 * throughput (either is one model call). Null: not even the shallow one fits.
 */
export function planTieBreak(
  position: Position,
  tied: readonly Move[],
  positionsPerMs: number,
  remainingMs: number,
): TieBreakPlan | null {
  for (const depth of [1, 0] as const) {
    const positions = rankingPositions(position, tied, depth);
    const expectedMs = positions / positionsPerMs + CALL_OVERHEAD_MS;
    if (expectedMs <= remainingMs) return { depth, positions, expectedMs };
  }
  return null;
}

export interface TieBreakOutcome {
  readonly move: Move;
  readonly by: TieBreakBy;
  /** With `by: 'error'`: what failed. */
  readonly error?: string;
}

/**
 * Lets the network choose among `tied` (root moves the alpha-beta search valued equally) within
 * `remainingMs`; otherwise keeps `fallback`, the search's own choice, and says why.
 */
export async function breakTie(
  neural: NeuralState,
  position: Position,
  tied: readonly Move[],
  fallback: Move,
  remainingMs: number,
): Promise<TieBreakOutcome> {
  if (tied.length <= 1) return { move: fallback, by: 'single' };
  if (neural.kind !== 'ready') return { move: fallback, by: 'unavailable' };
  const plan = planTieBreak(position, tied, neural.positionsPerMs, remainingMs);
  if (plan === null) return { move: fallback, by: 'timeout' };
  try {
    const before = performance.now();
    const ranked = await rankTiedMoves(position, tied, neural.scorer, { depth: plan.depth });
    const scoringMs = performance.now() - before - CALL_OVERHEAD_MS;
    // Moving average of the throughput, so the next plan fits its budget on this machine.
    if (plan.positions >= 8 && scoringMs > 0)
      neural.positionsPerMs = 0.7 * neural.positionsPerMs + 0.3 * (plan.positions / scoringMs);
    const best = ranked[0];
    return best
      ? { move: best.move, by: 'network' }
      : { move: fallback, by: 'error', error: 'the network ranked no move' };
  } catch (error) {
    return { move: fallback, by: 'error', error: (error as Error).message };
  }
}
