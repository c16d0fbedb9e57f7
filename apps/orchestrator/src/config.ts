import { join, resolve } from 'node:path';
import type { QueueType } from '@conveyor/bus';
import { MAX_CHAIN_LINKS } from '@conveyor/contracts';
import { z } from 'zod';
import {
  adminEnvShape,
  adminListenerFrom,
  checkAdminEnv,
  type AdminListener,
} from '@conveyor/observability';
import {
  DEFAULT_STEP_QUEUE_TYPE,
  RUN_EVENTS_EXCHANGE,
  STEP_PROGRESS_QUEUE,
  STEP_RESULTS_QUEUE,
} from '@conveyor/worker-sdk';
import { DEFAULT_CHAIN_LINKS } from './engine/engine';
import { DEFAULT_CHAINED_RECORD_WAIT_MS } from './engine/results-intake';
import {
  BODY_LIMIT_VARIABLE,
  DEFAULT_HTTP_LIMITS,
  formatBytes,
  RUN_INPUT_LIMIT_VARIABLE,
  type HttpLimits,
} from './limits';
import type { StoreConfig } from './store/database';

const intFrom = (name: string, def: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be an integer between ${min} and ${max}, got "${v}"`,
        });
        return z.NEVER;
      }
      return n;
    });

const EnvSchema = z.object({
  PORT: intFrom('PORT', 3001, 0, 65535),
  HOST: z.string().min(1).default('127.0.0.1'),
  ...adminEnvShape,
  AMQP_URL: z
    .string()
    .regex(
      /^amqps?:\/\//,
      'AMQP_URL must start with amqp:// or amqps:// (unset it for the embedded in-process bus)',
    )
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(
      /^postgres(ql)?:\/\//,
      'DATABASE_URL must be a postgres:// URL (unset it for SQLite under DATA_DIR)',
    )
    .optional(),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'DATABASE_SCHEMA must be a lower-case PostgreSQL identifier')
    .optional(),
  DATA_DIR: z.string().min(1).default('./var/orchestrator'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  WORKFLOWS_DIR: z.string().min(1).default('examples/document-processing/workflows'),
  RESULTS_QUEUE: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,200}$/)
    .default(STEP_RESULTS_QUEUE),
  PROGRESS_QUEUE: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,200}$/)
    .default(STEP_PROGRESS_QUEUE),
  EVENTS_EXCHANGE: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,200}$/)
    .default(RUN_EVENTS_EXCHANGE),
  SWEEP_INTERVAL_MS: intFrom('SWEEP_INTERVAL_MS', 250, 10, 60_000),
  STEP_EVENTS: z
    .enum(['all', 'steps', 'none'], {
      message: 'STEP_EVENTS must be all, steps (no fan-out items) or none',
    })
    .default('steps'),
  STEP_QUEUE_TYPE: z
    .enum(['quorum', 'classic'], {
      message:
        'STEP_QUEUE_TYPE must be classic (default) or quorum (replicated across a multi-node cluster); workers must use the same',
    })
    .default(DEFAULT_STEP_QUEUE_TYPE),
  CHAIN_LINKS: intFrom('CHAIN_LINKS', DEFAULT_CHAIN_LINKS, 0, MAX_CHAIN_LINKS),
  CHAIN_RECORD_WAIT_MS: intFrom('CHAIN_RECORD_WAIT_MS', DEFAULT_CHAINED_RECORD_WAIT_MS, 0, 1000),
  HTTP_BODY_LIMIT_BYTES: intFrom(
    BODY_LIMIT_VARIABLE,
    DEFAULT_HTTP_LIMITS.bodyBytes,
    1024,
    1024 * 1024 * 1024,
  ),
  RUN_INPUT_LIMIT_BYTES: intFrom(
    RUN_INPUT_LIMIT_VARIABLE,
    DEFAULT_HTTP_LIMITS.runInputBytes,
    2,
    1024 * 1024 * 1024,
  ),
});

export interface OrchestratorConfig {
  readonly port: number;
  readonly host: string;
  /** ADMIN_PORT / ADMIN_HOST: /metrics and /debug/* on their own listener; undefined: on PORT. */
  readonly admin?: AdminListener | undefined;
  readonly amqpUrl: string | undefined;
  readonly store: StoreConfig;
  readonly logLevel: string;
  readonly workflowsDir: string;
  readonly resultsQueue: string;
  readonly progressQueue: string;
  readonly eventsExchange: string;
  readonly sweepIntervalMs: number;
  /** Republish a dispatched request the broker has not confirmed after this long. */
  readonly republishAfterMs: number;
  readonly stepEvents: 'all' | 'steps' | 'none';
  /** RabbitMQ type of the step, result and progress queues (workers must declare the same). */
  readonly stepQueueType: QueueType;
  /** Most following steps a request lists for its worker to start itself (0: chains off). */
  readonly chainLinks: number;
  /** How long a chain link's record may wait to share a later result's transaction (0: never). */
  readonly chainedRecordWaitMs: number;
  /** AMQP connection name, so operators (and tests) can find this replica's connections. */
  readonly connectionName: string;
  /** Request body and run input limits (default DEFAULT_HTTP_LIMITS). */
  readonly httpLimits?: HttpLimits;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid orchestrator configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads the environment; every bad variable is named in one error. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): OrchestratorConfig {
  const parsed = EnvSchema.superRefine(checkAdminEnv).safeParse(
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')),
  );
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.') || 'env'}: ${i.message}`),
    );
  }
  const e = parsed.data;
  // The input travels inside the body: a limit at or above the body's would never apply.
  if (e.RUN_INPUT_LIMIT_BYTES >= e.HTTP_BODY_LIMIT_BYTES) {
    throw new ConfigError([
      `${RUN_INPUT_LIMIT_VARIABLE} (${formatBytes(e.RUN_INPUT_LIMIT_BYTES)}) must be below ${BODY_LIMIT_VARIABLE} (${formatBytes(e.HTTP_BODY_LIMIT_BYTES)}); raise ${BODY_LIMIT_VARIABLE} too`,
    ]);
  }
  return {
    port: e.PORT,
    host: e.HOST,
    admin: adminListenerFrom(e),
    amqpUrl: e.AMQP_URL,
    store: e.DATABASE_URL
      ? {
          kind: 'postgres',
          url: e.DATABASE_URL,
          ...(e.DATABASE_SCHEMA ? { schema: e.DATABASE_SCHEMA } : {}),
        }
      : { kind: 'sqlite', file: join(resolve(e.DATA_DIR), 'orchestrator.sqlite') },
    logLevel: e.LOG_LEVEL,
    workflowsDir: resolve(e.WORKFLOWS_DIR),
    resultsQueue: e.RESULTS_QUEUE,
    progressQueue: e.PROGRESS_QUEUE,
    eventsExchange: e.EVENTS_EXCHANGE,
    sweepIntervalMs: e.SWEEP_INTERVAL_MS,
    // Longer than the bus's publish timeout (30 s): a publish still being retried by a live
    // replica must not be duplicated; only ones lost with a crashed replica are resent.
    republishAfterMs: 45_000,
    stepEvents: e.STEP_EVENTS,
    stepQueueType: e.STEP_QUEUE_TYPE,
    chainLinks: e.CHAIN_LINKS,
    chainedRecordWaitMs: e.CHAIN_RECORD_WAIT_MS,
    connectionName: `orchestrator/${process.pid}`,
    httpLimits: { bodyBytes: e.HTTP_BODY_LIMIT_BYTES, runInputBytes: e.RUN_INPUT_LIMIT_BYTES },
  };
}
