import type { CheckersDifficulty, EngineMoveOutcome, EngineSearch } from '@conveyor/contracts';

/** One request for the engine's move: the same data whether it runs in a thread or over the bus. */
export interface EngineTask {
  readonly fen: string;
  /** Earlier positions, oldest first (for repetition awareness). */
  readonly history: readonly string[];
  readonly difficulty: CheckersDifficulty;
  readonly search: EngineSearch;
  /** Seed for the random choice among near-best moves (see EngineSearch.randomMargin). */
  readonly seed: number;
}

/** Where engine moves come from: an in-process worker_threads pool or engine workers over RabbitMQ. */
export interface Engine {
  readonly kind: 'pool' | 'bus';
  chooseMove(task: EngineTask): Promise<EngineMoveOutcome>;
  /** Throws when it can't serve moves now (readiness). */
  checkReady(): Promise<void>;
  /** Figures for /debug/vars. */
  stats(): Record<string, number | string>;
  close(): Promise<void>;
}

/** The engine did not answer in time (thread stuck, or no bus worker consumed the request). */
export class EngineTimeoutError extends Error {
  override readonly name = 'EngineTimeoutError';
}

/** Too many searches queued already: shed load instead of queueing without bound. */
export class EngineBusyError extends Error {
  override readonly name = 'EngineBusyError';
}

/** The engine refused the position (an answer of kind `rejected`). */
export class EngineRejectedError extends Error {
  override readonly name = 'EngineRejectedError';
}
