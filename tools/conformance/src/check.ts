import type { Broker } from './broker';
import { describeRun, type OrchestratorApi, type RunView } from './orchestrator-api';
import type { Subject } from './profiles';
import type { WorkerProcess } from './worker-process';

/** A step of a generated workflow (the orchestrator's YAML, written as JSON). */
export interface StepSpec {
  readonly queue: string;
  readonly needs?: readonly string[];
  readonly input?: string;
  readonly forEach?: string;
  /** Milliseconds. */
  readonly timeout?: number;
  readonly retry?: {
    readonly maxAttempts: number;
    readonly backoff?: { initial: number; max: number; multiplier: number; jitter: number };
  };
}

export type Workflows = Readonly<Record<string, WorkflowSpec>>;

export interface WorkflowSpec {
  readonly steps: Readonly<Record<string, StepSpec>>;
  readonly output?: string;
}

/** Quick retries, so that a check with retries takes well under a second of backoff. */
export const fastRetry = (maxAttempts: number) => ({
  maxAttempts,
  backoff: { initial: 50, max: 200, multiplier: 2, jitter: 0 },
});

/** The worker under test as the checks drive it. */
export interface WorkerUnderTest {
  readonly process: WorkerProcess;
  /** Starts it and resolves once it consumes every queue of its subject. */
  start(): Promise<void>;
  /** SIGKILL, and resolves once the broker has dropped its consumers. */
  kill(): Promise<void>;
}

export interface CheckContext {
  readonly subject: Subject;
  readonly api: OrchestratorApi;
  readonly broker: Broker;
  readonly worker: WorkerUnderTest;
  /** This target's prefix: queues the kit creates for itself start with it. */
  readonly prefix: string;
  /** The orchestrator's name of one of this check's workflows. */
  workflow(local: string): string;
}

export interface Check {
  readonly name: string;
  /** The protocol sections it exercises, e.g. "§4". */
  readonly sections: string;
  /**
   * Runs while no other target of the session runs an exclusive check: for checks whose effect
   * on the broker the shared orchestrator could undo on another target's behalf.
   */
  readonly exclusive?: boolean;
  /** Why it cannot run against this subject (e.g. the worker has no slow step), if so. */
  skip?(subject: Subject): string | undefined;
  /** Its workflows, by local name: written before the orchestrator starts. */
  workflows(subject: Subject): Workflows;
  /** Throws CheckFailure (or any error) when the worker does not conform; may return a note. */
  run(context: CheckContext): Promise<string | void>;
}

export class CheckFailure extends Error {}

export function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailure(message);
}

/** The run has this status, or a failure that shows the whole run. */
export function expectStatus(run: RunView, status: RunView['status'], why: string): void {
  expect(
    run.status === status,
    `expected the run to be ${status} (${why}); got ${describeRun(run)}`,
  );
}
