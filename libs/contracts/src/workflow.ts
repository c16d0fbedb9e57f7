import { z } from 'zod';
import type { Contract } from './contract';
import { defineContract, messageHeader } from './contract';

/**
 * Messages between the workflow orchestrator and step workers (any language). The wire protocol
 * around them — queues, headers, ack rules — is described in docs/worker-protocol.md.
 */

const id = z.string().min(1).max(200);
const isoTime = z.iso.datetime({ offset: true });

/** JSON value: anything JSON.parse can produce. Workers own the shape of their input and output. */
const json: z.ZodType<unknown> = z.unknown();

export const WorkflowRef = z.object({
  name: z.string().min(1),
  version: z.number().int().positive(),
});

// ---------------------------------------------------------------------------------------------
// Chain links: the steps that follow a step in a chain, which a worker may start itself.

/**
 * How a worker builds the next step's `input`: `output` = the output this attempt produced;
 * `value` = the value given (the orchestrator already knew it, e.g. the run input).
 */
export const ChainInput = z.discriminatedUnion('from', [
  z.object({ from: z.literal('output') }),
  z.object({ from: z.literal('value'), value: json }),
]);
export type ChainInput = z.infer<typeof ChainInput>;

export const ChainLink = z.object({
  step: z.string().min(1),
  queue: z.string().min(1),
  timeoutMs: z.number().int().positive(),
  input: ChainInput,
});
export type ChainLink = z.infer<typeof ChainLink>;

/** Longest `chain` the orchestrator sends (a cancelled run's continued links run out within it). */
export const MAX_CHAIN_LINKS = 64;

// ---------------------------------------------------------------------------------------------
// Step request: orchestrator → worker queue (named after the step's `queue`).

export const StepRequest = z.object({
  ...messageHeader('workflow.step.request', 1),
  /** One task = one step of a run, or one item of a fan-out. Stable across attempts. */
  taskId: id,
  /** 1 for the first try; the orchestrator increments it for each retry it schedules. */
  attempt: z.number().int().positive(),
  runId: id,
  workflow: WorkflowRef,
  step: z.string().min(1),
  queue: z.string().min(1),
  /** Position in the fan-out list when the task is one item of a `forEach` step. */
  itemIndex: z.number().int().nonnegative().optional(),
  /**
   * The key to deduplicate side effects on (docs/worker-protocol.md §2): equal for one step of
   * one run (one item of a fan-out) across attempts, redeliveries and chain continuations, unlike
   * `taskId`, which a worker continuing a chain picks anew. `stepIdempotencyKey(runId, step,
   * itemIndex)`. Optional so that v1 requests without it stay valid; absent, compute it from
   * those fields.
   */
  idempotencyKey: z.string().min(1).optional(),
  input: json,
  /** The attempt is abandoned (and retried or failed) if no result or heartbeat arrives by then. */
  deadline: isoTime,
  /** Step timeout in ms: each progress message pushes the deadline to now + timeoutMs. */
  timeoutMs: z.number().int().positive(),
  /** Queue to publish the StepResult to (default exchange, routing key = this name). */
  replyTo: z.string().min(1),
  /** Queue to publish StepProgress heartbeats to. */
  progressTo: z.string().min(1),
  /**
   * Optional, for speed (docs/worker-protocol.md §7): the steps that follow this one in a chain.
   * A worker MAY start `chain[0]` itself when this attempt succeeds — publish its request, then
   * report `continuedAs` in the result — which saves the round trip through the orchestrator. A
   * worker that ignores it loses nothing: the orchestrator then dispatches the next step.
   */
  chain: z.array(ChainLink).min(1).max(MAX_CHAIN_LINKS).optional(),
});
export type StepRequest = z.infer<typeof StepRequest>;

/**
 * `<runId>:<step>`, or `<runId>:<step>:<itemIndex>` for an item of a fan-out: one step of one run
 * whoever dispatches it (the orchestrator, a retry, a worker continuing a chain). Unambiguous
 * read from the right: step names are identifiers (no `:`, never only digits).
 */
export function stepIdempotencyKey(runId: string, step: string, itemIndex?: number): string {
  return itemIndex === undefined ? `${runId}:${step}` : `${runId}:${step}:${itemIndex}`;
}

// ---------------------------------------------------------------------------------------------
// Step result: worker → replyTo queue. Exactly one per delivery the worker handled.

export const StepError = z.object({
  /** Human-readable: what went wrong and, if possible, how to fix it. */
  message: z.string().min(1),
  /** Machine-readable, e.g. `INVALID_INPUT`, `MODEL_UNAVAILABLE`. */
  code: z.string().min(1).optional(),
  /**
   * true: transient (timeout of a dependency, overload) — the orchestrator retries with backoff
   * while the step has attempts left. false: retrying cannot help (bad input) — the step fails now.
   */
  retryable: z.boolean(),
  details: json.optional(),
});
export type StepError = z.infer<typeof StepError>;

const resultCommon = {
  ...messageHeader('workflow.step.result', 1),
  taskId: id,
  /** Must echo the request's attempt: results of superseded attempts are ignored. */
  attempt: z.number().int().positive(),
  runId: id,
  step: z.string().min(1),
  /** Identifies the worker process (hostname/pid) for the run inspector. */
  workerId: z.string().min(1).max(200).optional(),
  startedAt: isoTime.optional(),
  finishedAt: isoTime.optional(),
};

export const StepResult = z.discriminatedUnion('status', [
  z.object({
    ...resultCommon,
    status: z.literal('succeeded'),
    output: json,
    /**
     * The `taskId` of the request this worker published for the request's `chain[0]` (its broker
     * confirm received) before this result. Absent: the orchestrator dispatches the next step.
     */
    continuedAs: id.optional(),
  }),
  z.object({ ...resultCommon, status: z.literal('failed'), error: StepError }),
]);
export type StepResult = z.infer<typeof StepResult>;

// ---------------------------------------------------------------------------------------------
// Step progress / heartbeat: worker → progressTo queue, optional, any number per attempt.

export const StepProgress = z.object({
  ...messageHeader('workflow.step.progress', 1),
  taskId: id,
  attempt: z.number().int().positive(),
  runId: id,
  step: z.string().min(1),
  /** Fraction done, 0..1, if the worker knows it. */
  progress: z.number().min(0).max(1).optional(),
  message: z.string().max(1000).optional(),
  at: isoTime,
});
export type StepProgress = z.infer<typeof StepProgress>;

// ---------------------------------------------------------------------------------------------
// Run events: orchestrator → topic exchange, for SSE streams, dashboards and services that prefer
// messages to HTTP callbacks. Routing key: `<event>.<workflow name>`, e.g. `run.completed.ocr`.

export const RunStatus = z.enum([
  'pending',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
]);
export type RunStatus = z.infer<typeof RunStatus>;
export const TerminalRunStatus = z.enum(['succeeded', 'failed', 'cancelled', 'timed_out']);
export type TerminalRunStatus = z.infer<typeof TerminalRunStatus>;

const eventCommon = {
  ...messageHeader('workflow.run.event', 1),
  runId: id,
  workflow: WorkflowRef,
  at: isoTime,
};
const stepEventCommon = {
  ...eventCommon,
  step: z.string().min(1),
  taskId: id,
  itemIndex: z.number().int().nonnegative().optional(),
  attempt: z.number().int().positive(),
};

export const RunEvent = z.discriminatedUnion('event', [
  z.object({ ...eventCommon, event: z.literal('run.started'), parentRunId: id.optional() }),
  z.object({ ...stepEventCommon, event: z.literal('step.dispatched'), queue: z.string() }),
  z.object({ ...stepEventCommon, event: z.literal('step.succeeded') }),
  z.object({
    ...stepEventCommon,
    event: z.literal('step.retrying'),
    error: StepError,
    retryAt: isoTime,
  }),
  z.object({ ...stepEventCommon, event: z.literal('step.failed'), error: StepError }),
  z.object({ ...eventCommon, event: z.literal('step.skipped'), step: z.string().min(1) }),
  z.object({
    ...eventCommon,
    event: z.literal('run.completed'),
    status: TerminalRunStatus,
    output: json.optional(),
    error: StepError.optional(),
    parentRunId: id.optional(),
  }),
]);
export type RunEvent = z.infer<typeof RunEvent>;

// ---------------------------------------------------------------------------------------------

const at = '2026-11-26T12:00:00.000Z';
const wf = { name: 'document-processing', version: 1 };

export const stepRequestContract = defineContract({
  type: 'workflow.step.request',
  version: 1,
  description:
    'Orchestrator → worker: execute one attempt of one step (or one fan-out item). Published to the queue named after the step `queue`.',
  schema: StepRequest,
  examples: [
    {
      type: 'workflow.step.request',
      version: 1,
      taskId: 'tsk_01',
      attempt: 1,
      runId: 'run_01',
      workflow: wf,
      step: 'ocr',
      queue: 'ocr',
      itemIndex: 3,
      idempotencyKey: 'run_01:ocr:3',
      input: { page: { uri: 'file:///bundles/b1/page-3.txt' } },
      deadline: at,
      timeoutMs: 30000,
      replyTo: 'conveyor.step-results',
      progressTo: 'conveyor.step-progress',
    },
    {
      type: 'workflow.step.request',
      version: 1,
      taskId: 'tsk_02',
      attempt: 1,
      runId: 'run_01',
      workflow: wf,
      step: 'extract',
      queue: 'extract-fields',
      idempotencyKey: 'run_01:extract',
      input: { text: 'INVOICE No. 42' },
      deadline: at,
      timeoutMs: 30000,
      replyTo: 'conveyor.step-results',
      progressTo: 'conveyor.step-progress',
      chain: [
        { step: 'classify', queue: 'classify', timeoutMs: 30000, input: { from: 'output' } },
        { step: 'archive', queue: 'archive', timeoutMs: 5000, input: { from: 'value', value: {} } },
      ],
    },
  ],
  invalidExamples: [
    {
      field: 'chain',
      value: {
        type: 'workflow.step.request',
        version: 1,
        taskId: 't',
        attempt: 1,
        runId: 'r',
        workflow: wf,
        step: 's',
        queue: 'q',
        input: {},
        deadline: at,
        timeoutMs: 1000,
        replyTo: 'a',
        progressTo: 'b',
        chain: [{ step: 'n', queue: 'q2', timeoutMs: 1000, input: { from: 'previous' } }],
      },
    },
    {
      field: 'attempt',
      value: {
        type: 'workflow.step.request',
        version: 1,
        taskId: 't',
        attempt: 0,
        runId: 'r',
        workflow: wf,
        step: 's',
        queue: 'q',
        input: {},
        deadline: at,
        timeoutMs: 1000,
        replyTo: 'a',
        progressTo: 'b',
      },
    },
    {
      field: 'replyTo',
      value: {
        type: 'workflow.step.request',
        version: 1,
        taskId: 't',
        attempt: 1,
        runId: 'r',
        workflow: wf,
        step: 's',
        queue: 'q',
        input: {},
        deadline: at,
        timeoutMs: 1000,
        progressTo: 'b',
      },
    },
  ],
});

export const stepResultContract = defineContract({
  type: 'workflow.step.result',
  version: 1,
  description:
    'Worker → orchestrator (the request `replyTo` queue): the outcome of one attempt — output, or an error with a `retryable` flag.',
  schema: StepResult,
  examples: [
    {
      type: 'workflow.step.result',
      version: 1,
      taskId: 'tsk_01',
      attempt: 1,
      runId: 'run_01',
      step: 'ocr',
      status: 'succeeded',
      output: { text: 'INVOICE No. 42' },
      workerId: 'ocr-7f9c/1234',
      startedAt: at,
      finishedAt: at,
    },
    {
      type: 'workflow.step.result',
      version: 1,
      taskId: 'tsk_01',
      attempt: 2,
      runId: 'run_01',
      step: 'classify',
      status: 'failed',
      error: { message: 'model still loading', code: 'MODEL_UNAVAILABLE', retryable: true },
    },
  ],
  invalidExamples: [
    {
      field: 'error',
      value: {
        type: 'workflow.step.result',
        version: 1,
        taskId: 't',
        attempt: 1,
        runId: 'r',
        step: 's',
        status: 'failed',
      },
    },
    {
      field: 'status',
      value: {
        type: 'workflow.step.result',
        version: 1,
        taskId: 't',
        attempt: 1,
        runId: 'r',
        step: 's',
        status: 'done',
      },
    },
  ],
});

export const stepProgressContract = defineContract({
  type: 'workflow.step.progress',
  version: 1,
  description:
    'Worker → orchestrator (the request `progressTo` queue): heartbeat of a long step; pushes its deadline to now + timeoutMs.',
  schema: StepProgress,
  examples: [
    {
      type: 'workflow.step.progress',
      version: 1,
      taskId: 'tsk_01',
      attempt: 1,
      runId: 'run_01',
      step: 'ocr',
      progress: 0.5,
      message: 'page 3 of 6',
      at,
    },
  ],
  invalidExamples: [
    {
      field: 'progress',
      value: {
        type: 'workflow.step.progress',
        version: 1,
        taskId: 't',
        attempt: 1,
        runId: 'r',
        step: 's',
        progress: 2,
        at,
      },
    },
  ],
});

export const runEventContract = defineContract({
  type: 'workflow.run.event',
  version: 1,
  description:
    'Orchestrator → topic exchange `conveyor.workflow-events`: run and step lifecycle, including `run.completed` with the output or error.',
  schema: RunEvent,
  examples: [
    {
      type: 'workflow.run.event',
      version: 1,
      event: 'run.started',
      runId: 'run_01',
      workflow: wf,
      at,
    },
    {
      type: 'workflow.run.event',
      version: 1,
      event: 'step.retrying',
      runId: 'run_01',
      workflow: wf,
      at,
      step: 'classify',
      taskId: 'tsk_01',
      attempt: 1,
      error: { message: 'model still loading', retryable: true },
      retryAt: at,
    },
    {
      type: 'workflow.run.event',
      version: 1,
      event: 'run.completed',
      runId: 'run_01',
      workflow: wf,
      at,
      status: 'succeeded',
      output: { documents: [{ pages: [1, 2], label: 'invoice' }] },
    },
  ],
  invalidExamples: [
    {
      field: 'status',
      value: {
        type: 'workflow.run.event',
        version: 1,
        event: 'run.completed',
        runId: 'r',
        workflow: wf,
        at,
        status: 'done',
      },
    },
    {
      field: 'event',
      value: {
        type: 'workflow.run.event',
        version: 1,
        event: 'run.exploded',
        runId: 'r',
        workflow: wf,
        at,
      },
    },
  ],
});

/** Contracts of the workflow messages (owned by the workflow work; registered in registry.ts). */
export const workflowContracts: readonly Contract[] = [
  stepRequestContract,
  stepResultContract,
  stepProgressContract,
  runEventContract,
];
