import type { Expression } from './expressions';

/** A compiled, validated workflow definition: what the engine executes. */
export interface WorkflowDefinition {
  readonly name: string;
  readonly version: number;
  readonly description: string | undefined;
  /** sha256 of the source: a (name, version) must never change once runs may use it. */
  readonly hash: string;
  readonly source: string;
  readonly file: string;
  readonly inputSchema: Record<string, unknown> | undefined;
  /** Checks a run input against `inputSchema`; [] when valid (or when there is no schema). */
  readonly validateInput: ((input: unknown) => readonly InputIssue[]) | undefined;
  readonly idempotencyKey: Expression | undefined;
  readonly timeoutMs: number | undefined;
  /** Steps in a topological order (dependencies first). */
  readonly steps: readonly StepDefinition[];
  readonly stepsByName: ReadonlyMap<string, StepDefinition>;
  /** Steps that depend on each step, for O(out-degree) propagation. */
  readonly dependents: ReadonlyMap<string, readonly string[]>;
  readonly output: Expression | undefined;
  readonly onFailure: StepDefinition | undefined;
}

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  /** Fraction of the delay randomised (0 = none, 1 = full jitter). */
  readonly jitter: number;
}

/** What runs for the step (or for each item of a fan-out). */
export type StepAction =
  | { readonly kind: 'queue'; readonly queue: string }
  | { readonly kind: 'workflow'; readonly workflow: string };

export type JoinPolicy =
  | { readonly kind: 'all-succeeded' }
  | { readonly kind: 'all-done' }
  | { readonly kind: 'tolerate'; readonly maxFailures: number };

export interface FanOut {
  readonly items: Expression;
  readonly concurrency: number;
  readonly join: JoinPolicy;
}

export interface StepDefinition {
  readonly name: string;
  readonly needs: readonly string[];
  readonly action: StepAction;
  readonly input: Expression | undefined;
  readonly when: Expression | undefined;
  readonly forEach: FanOut | undefined;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
}

export const ON_FAILURE_STEP = '$onFailure';

export interface InputIssue {
  /** JSON pointer of the offending value, e.g. `/pages/0/uri` ('' = the whole input). */
  readonly path: string;
  readonly message: string;
}

/**
 * Limits of one worker queue (queues.yaml), enforced by the orchestrator at dispatch time in the
 * database, so they hold across every run and every replica. A step over a limit waits as
 * `queued` (with the reason) and is dispatched, highest run priority first, when a step of its
 * queue finishes or the rate allows.
 */
export interface QueueLimits {
  /** Steps of this queue dispatched and not yet answered, at most. */
  readonly maxInFlight: number | undefined;
  /** Steps started per second, on average (a token bucket). */
  readonly ratePerSecond: number | undefined;
  /** Steps that may start at once after an idle spell (the bucket's size); default a tenth of a second's worth. */
  readonly burst: number;
}
