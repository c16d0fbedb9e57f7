import { z } from 'zod';
import { RunStatus } from '@conveyor/contracts';

/** HTTP request bodies and query strings; also the source of the OpenAPI document. */

export const StartRunBody = z
  .object({
    input: z
      .unknown()
      .describe(
        'The run input (required); validated against the workflow inputSchema; at most RUN_INPUT_LIMIT_BYTES (default 1 MiB) as JSON',
      ),
    idempotencyKey: z
      .string()
      .min(1)
      .max(500)
      .optional()
      .describe(
        'A second start with the same key returns the first run (overrides the workflow idempotencyKey expression)',
      ),
    version: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Definition version (default: the latest)'),
    callbackUrl: z
      .url()
      .optional()
      .describe('POSTed the run.completed event when the run finishes'),
    priority: z
      .number()
      .int()
      .min(-1000)
      .max(1000)
      .optional()
      .describe(
        "Among steps waiting for a queue's limits (queues.yaml), those of higher-priority runs go first (default 0; sub-workflow runs inherit it)",
      ),
    waitMs: z
      .number()
      .int()
      .min(0)
      .max(300_000)
      .optional()
      .describe(
        'Wait up to this long for the run to finish before answering (200 finished / 202 still running)',
      ),
  })
  .strict();

export const ListRunsQuery = z
  .object({
    workflow: z.string().optional(),
    status: RunStatus.optional(),
    parent: z.string().optional().describe('Child runs of this run (sub-workflows)'),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    before: z.coerce
      .number()
      .int()
      .optional()
      .describe('Only runs created before this epoch-ms time (paging)'),
    includeChildren: z.enum(['true', 'false']).default('false'),
  })
  .strict();

export const ItemsQuery = z
  .object({
    offset: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    status: z
      .enum(['pending', 'queued', 'running', 'waiting_retry', 'succeeded', 'failed', 'cancelled'])
      .optional(),
  })
  .strict();

export const CancelBody = z.object({ reason: z.string().max(1000).optional() }).strict();
