import { isDeepStrictEqual } from 'node:util';
import { CONTRACT_ENV, FATAL_CODE, FLAKY_CODE, contractQueues, type QueueType } from './contract';

/** One step the kit can ask for: which queue, with which input. */
export interface StepPlan {
  readonly queue: string;
  readonly input: unknown;
}

/** What the kit knows about a worker under test: its queues and what its steps do. */
export interface Subject {
  readonly profile: ProfileName;
  /** The session's queue type (the worker gets it as STEP_QUEUE_TYPE). */
  readonly queueType: QueueType;
  /** Every queue it consumes; it is ready once each has a consumer. */
  readonly queues: readonly string[];
  /** Environment for its command. */
  readonly env: Readonly<Record<string, string>>;
  /** A step that succeeds; `verify` says what is wrong with its output, if anything. */
  readonly succeed: StepPlan & {
    verify(output: unknown): string | undefined;
    /**
     * How a chain of these steps passes data on: `output` when the step's output is a valid
     * input for the next (the chain's links take `steps.<previous>`), `run-input` when each link
     * takes the run input (`input`).
     */
    readonly chainInput: 'output' | 'run-input';
  };
  /** A step that fails with a non-retryable error of this code. */
  readonly fatal: StepPlan & { readonly code: string };
  /** A step failing retryably until `failUntilAttempt`; absent when the worker has none. */
  readonly flaky?: (failUntilAttempt: number) => StepPlan & {
    readonly code: string;
    verify(output: unknown, attempt: number): string | undefined;
  };
  /** A step whose handler raises an exception it did not decide on; absent when none. */
  readonly crash?: StepPlan;
  /** A step whose output is `{ idempotencyKey }`, the key its handler was given; absent when none. */
  readonly keyQueue?: string;
  /** A step that works `ms` (heartbeating every `heartbeatMs` if given); absent when none. */
  readonly slow?: (
    ms: number,
    heartbeatMs?: number,
  ) => StepPlan & {
    verify(output: unknown): string | undefined;
  };
}

export const PROFILES = ['contract', 'extract-fields'] as const;
export type ProfileName = (typeof PROFILES)[number];

const show = (value: unknown) => JSON.stringify(value);

/**
 * Equal as JSON values. Both sides are re-parsed first: an object from `fetch` comes from another
 * realm than one written here when the kit runs under Jest, and strict deep equality compares
 * prototypes.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  const copy = (v: unknown): unknown => (v === undefined ? v : JSON.parse(JSON.stringify(v)));
  return isDeepStrictEqual(copy(a), copy(b));
}

function expectEqual(expected: unknown) {
  return (output: unknown) =>
    sameJson(output, expected)
      ? undefined
      : `expected output ${show(expected)}, got ${show(output)}`;
}

/** Deliberately awkward JSON: nesting, unicode, null, numbers that are not integers. */
export const ECHO_INPUT = {
  text: 'conformance ✓ — ünïcödé, "quotes", \\ backslash',
  n: 42.5,
  list: [1, 'two', null, { three: [3] }],
  empty: {},
};

/** A worker implementing the conformance worker contract (contract.ts). */
function contractSubject(prefix: string, queueType: QueueType): Subject {
  const q = contractQueues(prefix);
  return {
    profile: 'contract',
    queueType,
    queues: Object.values(q),
    env: {
      [CONTRACT_ENV.prefix]: prefix,
      [CONTRACT_ENV.queues]: Object.values(q).join(','),
    },
    succeed: {
      queue: q.echo,
      input: ECHO_INPUT,
      verify: expectEqual(ECHO_INPUT),
      chainInput: 'output',
    },
    fatal: { queue: q.fatal, input: { why: 'the conformance kit asked for it' }, code: FATAL_CODE },
    flaky: (failUntilAttempt) => ({
      queue: q.flaky,
      input: { failUntilAttempt },
      code: FLAKY_CODE,
      verify: (output, attempt) => expectEqual({ attempt })(output),
    }),
    crash: { queue: q.crash, input: { why: 'the handler raises an unexpected exception' } },
    keyQueue: q.key,
    slow: (ms, heartbeatMs) => ({
      queue: q.slow,
      input: heartbeatMs === undefined ? { ms } : { ms, heartbeatMs },
      verify: expectEqual({ sleptMs: ms }),
    }),
  };
}

const EXTRACT_INPUT = {
  documentId: 'conformance-doc',
  text: 'Invoice 2026-11-26: 1,200.00 EUR, questions to billing@acme-paper.example',
};

/**
 * The document-processing example's Python worker (examples/document-processing/python), which
 * predates the contract: one queue (`QUEUE`) that extracts fields from `{ documentId, text }` and
 * fails fatally with EMPTY_DOCUMENT on blank text. It has no retryable or slow step, so the checks
 * needing those are skipped.
 */
function extractFieldsSubject(prefix: string, queueType: QueueType): Subject {
  const queue = `${prefix}.extract`;
  return {
    profile: 'extract-fields',
    queueType,
    queues: [queue],
    env: { QUEUE: queue },
    succeed: {
      queue,
      input: EXTRACT_INPUT,
      verify(output) {
        const fields = (output as { fields?: unknown } | null)?.fields;
        return expectEqual({
          dates: ['2026-11-26'],
          amounts: ['1,200.00 EUR'],
          emails: ['billing@acme-paper.example'],
        })(fields);
      },
      chainInput: 'run-input',
    },
    fatal: { queue, input: { documentId: 'blank', text: '  ' }, code: 'EMPTY_DOCUMENT' },
  };
}

export function subjectFor(profile: ProfileName, prefix: string, queueType: QueueType): Subject {
  return profile === 'contract'
    ? contractSubject(prefix, queueType)
    : extractFieldsSubject(prefix, queueType);
}
