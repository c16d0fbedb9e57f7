import { z } from 'zod';
import { Duration } from './duration';

/** The shape of a workflow YAML file, before cross-references are checked (loader.ts). */

export const STEP_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const WORKFLOW_NAME = /^[a-z0-9][a-z0-9-]{0,99}$/;
export const QUEUE_NAME = /^[A-Za-z0-9_.:-]{1,200}$/;

const expression = z
  .string()
  .min(1, 'an empty expression: write a JSONata expression or remove the field');

const RetryDoc = z
  .object({
    maxAttempts: z.number().int().min(1).max(100).optional(),
    backoff: z
      .object({
        initial: Duration.optional(),
        max: Duration.optional(),
        multiplier: z.number().min(1).max(10).optional(),
        jitter: z.number().min(0).max(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type RetryDoc = z.infer<typeof RetryDoc>;

const JoinDoc = z.union([
  z.enum(['all-succeeded', 'all-done']),
  z.object({ tolerateFailures: z.number().int().min(0) }).strict(),
]);

export const StepDoc = z
  .object({
    description: z.string().optional(),
    needs: z.array(z.string()).optional(),
    queue: z
      .string()
      .regex(QUEUE_NAME, 'use 1-200 letters, digits, ".", "_", ":" or "-"')
      .optional(),
    workflow: z
      .string()
      .regex(WORKFLOW_NAME, 'workflow names are lower-case letters, digits and "-"')
      .optional(),
    input: expression.optional(),
    when: expression.optional(),
    forEach: expression.optional(),
    concurrency: z.number().int().min(1).max(100_000).optional(),
    join: JoinDoc.optional(),
    timeout: Duration.optional(),
    retry: RetryDoc.optional(),
  })
  .strict();
export type StepDoc = z.infer<typeof StepDoc>;

export const OnFailureDoc = z
  .object({
    queue: z.string().regex(QUEUE_NAME),
    input: expression.optional(),
    timeout: Duration.optional(),
    retry: RetryDoc.optional(),
  })
  .strict();

export const WorkflowDoc = z
  .object({
    name: z
      .string()
      .regex(WORKFLOW_NAME, 'workflow names are lower-case letters, digits and "-" (max 100)'),
    version: z.number().int().positive(),
    description: z.string().optional(),
    inputSchema: z.record(z.string(), z.unknown()).optional(),
    idempotencyKey: expression.optional(),
    timeout: Duration.optional(),
    defaults: z
      .object({ timeout: Duration.optional(), retry: RetryDoc.optional() })
      .strict()
      .optional(),
    steps: z.record(
      z.string().regex(STEP_NAME, 'step names are identifiers: letters, digits and "_"'),
      StepDoc,
    ),
    output: expression.optional(),
    onFailure: OnFailureDoc.optional(),
  })
  .strict();
export type WorkflowDoc = z.infer<typeof WorkflowDoc>;

/**
 * queues.yaml: the worker queues that exist, so a typo in a step's `queue` fails at load time,
 * and the limits that protect the model service behind a queue (see QueueLimits).
 */
export const QueueCatalogDoc = z
  .object({
    queues: z.record(
      z.string().regex(QUEUE_NAME),
      z
        .object({
          description: z.string().optional(),
          maxInFlight: z
            .number()
            .int('maxInFlight is a whole number of steps')
            .min(1, 'maxInFlight must be at least 1 (leave it out for no limit)')
            .max(1_000_000)
            .optional(),
          ratePerSecond: z
            .number()
            .positive('ratePerSecond must be above 0 (leave it out for no limit)')
            .max(1_000_000)
            .optional(),
          burst: z.number().int().min(1).max(1_000_000).optional(),
        })
        .strict()
        .refine((q) => q.burst === undefined || q.ratePerSecond !== undefined, {
          message: 'burst only applies with ratePerSecond',
          path: ['burst'],
        })
        .nullable(),
    ),
  })
  .strict();
