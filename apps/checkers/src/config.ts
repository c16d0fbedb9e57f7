import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
// Type only: test/global-setup.ts loads this file (via bundles.ts) without the path aliases.
import type { AdminListener } from '@conveyor/observability';
import { z } from 'zod';

/**
 * Service configuration, parsed once from the environment. Storage and engine placement are
 * discriminated unions so code downstream can't, say, read a SQLite path in PostgreSQL mode.
 */
export type DatabaseConfig =
  | { readonly kind: 'sqlite'; readonly file: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema: string };

export type EngineConfig =
  | {
      readonly mode: 'pool';
      readonly threads: number;
      /** Network for hard's tie-break; undefined: the model committed with draughts-learning. */
      readonly modelDir?: string | undefined;
    }
  | {
      readonly mode: 'bus';
      readonly amqpUrl: string;
      readonly requestQueue: string;
      readonly replyTopic: string;
      /** How long a request may wait for a free worker, on top of its search budget. */
      readonly queueSlackMs: number;
    };

export interface CheckersConfig {
  readonly port: number;
  readonly host: string;
  /** ADMIN_PORT / ADMIN_HOST: /metrics and /debug/* on their own listener; undefined: on PORT. */
  readonly admin?: AdminListener | undefined;
  readonly logLevel: string;
  readonly database: DatabaseConfig;
  readonly engine: EngineConfig;
  /** Where the built browser bundle and engine thread script live (built on demand if missing). */
  readonly bundleDir: string;
}

export const DEFAULT_REQUEST_QUEUE = 'checkers.engine-move.requests';
export const DEFAULT_REPLY_TOPIC = 'checkers.engine-move.responses';
/** apps/checkers, whether this file runs from src/ (tsx, jest) or from a bundle in dist/. */
export const APP_ROOT = resolve(__dirname, '..');

const amqpName = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,200}$/, "must be 1-200 letters, digits, '.', '_', ':' or '-'");

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3003),
  HOST: z.string().min(1).default('127.0.0.1'),
  ADMIN_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  ADMIN_HOST: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  AMQP_URL: z
    .string()
    .regex(/^amqps?:\/\//, 'must start with amqp:// or amqps://')
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL (leave unset for SQLite)')
    .optional(),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
    .default('public'),
  DATA_DIR: z.string().min(1).default('./var/checkers'),
  ENGINE_MODE: z.enum(['pool', 'bus']).default('pool'),
  ENGINE_THREADS: z.coerce.number().int().min(1).max(64).default(availableParallelism()),
  ENGINE_REQUEST_QUEUE: amqpName.default(DEFAULT_REQUEST_QUEUE),
  ENGINE_REPLY_TOPIC: amqpName.default(DEFAULT_REPLY_TOPIC),
  ENGINE_QUEUE_SLACK_MS: z.coerce.number().int().min(0).max(600_000).default(5_000),
  BUNDLE_DIR: z.string().min(1).default(resolve(APP_ROOT, 'dist')),
  MODEL_DIR: z.string().min(1).optional(),
});

/** ADMIN_PORT / ADMIN_HOST: /metrics and /debug/* on their own listener (ADMIN_HOST defaults to HOST). */
function adminListener(e: { ADMIN_PORT?: number; ADMIN_HOST?: string }): AdminListener | undefined {
  return e.ADMIN_PORT === undefined ? undefined : { port: e.ADMIN_PORT, host: e.ADMIN_HOST };
}

const ADMIN_HOST_ALONE =
  '  ADMIN_HOST: is set without ADMIN_PORT: set ADMIN_PORT too, or unset ADMIN_HOST';

/** Rules spanning variables, checked on the raw environment so they're reported with the rest. */
function crossFieldIssues(env: NodeJS.ProcessEnv): string[] {
  const issues = env['ADMIN_HOST'] && !env['ADMIN_PORT'] ? [ADMIN_HOST_ALONE] : [];
  if (env['ENGINE_MODE'] === 'bus' && !env['AMQP_URL']) {
    issues.push(
      '  AMQP_URL: is required when ENGINE_MODE=bus (engine workers are reached through RabbitMQ)',
    );
  }
  return issues;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment; throws a ConfigError naming every bad variable at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): CheckersConfig {
  const parsed = envSchema.safeParse(withoutEmpty(env));
  const problems = [
    ...(parsed.success ? [] : [describeIssues(parsed.error)]),
    ...crossFieldIssues(env),
  ];
  if (!parsed.success || problems.length > 0) {
    throw new ConfigError(`invalid checkers configuration:\n${problems.join('\n')}`);
  }
  const e = parsed.data;
  const database: DatabaseConfig = e.DATABASE_URL
    ? { kind: 'postgres', url: e.DATABASE_URL, schema: e.DATABASE_SCHEMA }
    : { kind: 'sqlite', file: resolve(e.DATA_DIR, 'checkers.sqlite') };
  const engine: EngineConfig =
    e.ENGINE_MODE === 'bus'
      ? {
          mode: 'bus',
          // crossFieldIssues guarantees AMQP_URL in bus mode
          amqpUrl: e.AMQP_URL as string,
          requestQueue: e.ENGINE_REQUEST_QUEUE,
          replyTopic: e.ENGINE_REPLY_TOPIC,
          queueSlackMs: e.ENGINE_QUEUE_SLACK_MS,
        }
      : {
          mode: 'pool',
          threads: e.ENGINE_THREADS,
          modelDir: e.MODEL_DIR === undefined ? undefined : resolve(e.MODEL_DIR),
        };
  return {
    port: e.PORT,
    host: e.HOST,
    admin: adminListener(e),
    logLevel: e.LOG_LEVEL,
    database,
    engine,
    bundleDir: resolve(e.BUNDLE_DIR),
  };
}

export interface EngineWorkerConfig {
  readonly port: number;
  readonly host: string;
  /** ADMIN_PORT / ADMIN_HOST, as for the server. */
  readonly admin?: AdminListener | undefined;
  readonly logLevel: string;
  readonly amqpUrl: string;
  readonly threads: number;
  readonly requestQueue: string;
  readonly replyTopic: string;
  readonly bundleDir: string;
  /** Network for hard's tie-break; undefined: the model committed with draughts-learning. */
  readonly modelDir?: string | undefined;
}

const workerEnvSchema = z.object({
  // Only /healthz, /readyz, /metrics and /debug/vars: the worker takes its work from RabbitMQ.
  PORT: z.coerce.number().int().min(0).max(65535).default(3005),
  HOST: z.string().min(1).default('127.0.0.1'),
  ADMIN_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  ADMIN_HOST: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  AMQP_URL: z
    .string({ message: 'is required: engine workers take requests from RabbitMQ' })
    .regex(/^amqps?:\/\//, 'must start with amqp:// or amqps://'),
  ENGINE_THREADS: z.coerce.number().int().min(1).max(64).default(availableParallelism()),
  ENGINE_REQUEST_QUEUE: amqpName.default(DEFAULT_REQUEST_QUEUE),
  ENGINE_REPLY_TOPIC: amqpName.default(DEFAULT_REPLY_TOPIC),
  BUNDLE_DIR: z.string().min(1).default(resolve(APP_ROOT, 'dist')),
  MODEL_DIR: z.string().min(1).optional(),
});

/** Configuration of an engine worker (src/engine-worker.ts); throws a ConfigError naming every bad variable. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): EngineWorkerConfig {
  const parsed = workerEnvSchema.safeParse(withoutEmpty(env));
  const adminHostAlone = env['ADMIN_HOST'] && !env['ADMIN_PORT'] ? [ADMIN_HOST_ALONE] : [];
  if (!parsed.success || adminHostAlone.length > 0)
    throw new ConfigError(
      `invalid engine worker configuration:\n${[
        ...(parsed.success ? [] : [describeIssues(parsed.error)]),
        ...adminHostAlone,
      ].join('\n')}`,
    );
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    admin: adminListener(e),
    logLevel: e.LOG_LEVEL,
    amqpUrl: e.AMQP_URL,
    threads: e.ENGINE_THREADS,
    requestQueue: e.ENGINE_REQUEST_QUEUE,
    replyTopic: e.ENGINE_REPLY_TOPIC,
    bundleDir: resolve(e.BUNDLE_DIR),
    modelDir: e.MODEL_DIR === undefined ? undefined : resolve(e.MODEL_DIR),
  };
}

/** `DATABASE_URL=` (set but empty, common in compose files and shells) means unset. */
function withoutEmpty(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `  ${issue.path.join('.') || '(environment)'}: ${issue.message}`)
    .join('\n');
}
