import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import type { QueueType } from '@conveyor/bus';
import type { LogLevel } from '@conveyor/observability';
import { DEFAULT_STEP_QUEUE_TYPE } from '@conveyor/worker-sdk';
import { z } from 'zod';
import { chooseClassifierModel, type ClassifierModelChoice } from './classifier-model';

/** The repository root, found from this file so `npm start` works from any working directory. */
export const WORKSPACE_ROOT = resolve(__dirname, '..', '..', '..');

export interface Ports {
  readonly orchestrator: number;
  readonly classifier: number;
  readonly classifierWorker: number;
  readonly checkers: number;
  readonly svcProxy: number;
  readonly devIdentityProvider: number;
}

export interface LocalStackSettings {
  /** Where the services listen (an IP literal: svc-proxy's endpoints file takes no host names). */
  readonly host: string;
  /** How this machine reaches them: `host`, or loopback when `host` is a wildcard address. */
  readonly reachableHost: string;
  readonly ports: Ports;
  /** Unset: the embedded in-process bus, shared by every service of this process. */
  readonly amqpUrl: string | undefined;
  /** Unset: SQLite files under dataDir. */
  readonly databaseUrl: string | undefined;
  /** PostgreSQL schema for the orchestrator and checkers (their tables do not overlap). */
  readonly databaseSchema: string | undefined;
  /** Root of every service's DATA_DIR (one sub-directory per service). */
  readonly dataDir: string;
  /** Services' log level; the launcher's own lines (URLs, shutdown) are always printed. */
  readonly logLevel: LogLevel;
  /** Prepended to every queue and exchange name, so a stack can share a broker with others. */
  readonly queuePrefix: string;
  /**
   * RabbitMQ type of the workflow protocol's queues (STEP_QUEUE_TYPE, default classic), given to
   * the orchestrator and every step worker of the stack alike (RabbitMQ refuses a mismatch).
   */
  readonly stepQueueType: QueueType;
  /** The address the local identity provider signs everyone in as; it is on svc-proxy's allow-list. */
  readonly devEmail: string;
  /** The classifier's MODEL_DIR (see chooseClassifierModel). */
  readonly classifierModel: ClassifierModelChoice;
  readonly workflowsDir: string;
}

const port = (name: string, fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 65535) {
        ctx.addIssue({
          code: 'custom',
          message: `${name}=${JSON.stringify(v)} must be a port number from 1 to 65535`,
        });
        return z.NEVER;
      }
      return n;
    });

const optional = (schema: z.ZodString) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))
    .pipe(schema.optional());

const EnvSchema = z.object({
  HOST: z
    .string()
    .trim()
    .refine((v) => isIP(v) !== 0, {
      error: 'HOST must be an IP address such as 127.0.0.1 (default) or 0.0.0.0',
    })
    .default('127.0.0.1'),
  ORCHESTRATOR_PORT: port('ORCHESTRATOR_PORT', 3001),
  CLASSIFIER_PORT: port('CLASSIFIER_PORT', 3002),
  CHECKERS_PORT: port('CHECKERS_PORT', 3003),
  SVC_PROXY_PORT: port('SVC_PROXY_PORT', 3004),
  // 3005 is the checkers engine worker's default, which the local stack does not run.
  CLASSIFIER_WORKER_PORT: port('CLASSIFIER_WORKER_PORT', 3006),
  DEV_IDP_PORT: port('DEV_IDP_PORT', 3007),
  AMQP_URL: optional(
    z.string().regex(/^amqps?:\/\//, {
      error:
        'AMQP_URL must start with amqp:// or amqps:// (unset it for the embedded in-process bus)',
    }),
  ),
  DATABASE_URL: optional(
    z.string().regex(/^postgres(ql)?:\/\//, {
      error: 'DATABASE_URL must be a postgres:// URL (unset it for SQLite under DATA_DIR)',
    }),
  ),
  DATABASE_SCHEMA: optional(
    z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, {
      error: 'DATABASE_SCHEMA must be a lower-case PostgreSQL identifier',
    }),
  ),
  DATA_DIR: z.string().trim().min(1).default('./var/local-stack'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('warn'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{0,100}$/, {
      error: 'QUEUE_PREFIX may only hold letters, digits, ".", "_", ":" and "-" (at most 100)',
    })
    .default(''),
  STEP_QUEUE_TYPE: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? DEFAULT_STEP_QUEUE_TYPE : v.trim()))
    .pipe(
      z.enum(['classic', 'quorum'], {
        error:
          'STEP_QUEUE_TYPE must be classic (default) or quorum (replicated across a multi-node RabbitMQ cluster)',
      }),
    ),
  DEV_EMAIL: z
    .string()
    .trim()
    .regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, {
      error: 'DEV_EMAIL must be an email address such as developer@conveyor.local',
    })
    .default('developer@conveyor.local'),
  MODEL_DIR: optional(z.string()),
});

export class SettingsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid local stack configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

/** Reads the environment, reporting every bad variable at once. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): LocalStackSettings {
  const parsed = EnvSchema.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) =>
        i.message.includes(String(i.path[0])) ? i.message : `${i.path.join('.')}: ${i.message}`,
      );
  if (!parsed.success) throw new SettingsError(problems);
  const e = parsed.data;
  const ports: Ports = {
    orchestrator: e.ORCHESTRATOR_PORT,
    classifier: e.CLASSIFIER_PORT,
    classifierWorker: e.CLASSIFIER_WORKER_PORT,
    checkers: e.CHECKERS_PORT,
    svcProxy: e.SVC_PROXY_PORT,
    devIdentityProvider: e.DEV_IDP_PORT,
  };
  const seen = new Map<number, string>();
  for (const [name, value] of Object.entries(ports)) {
    const other = seen.get(value);
    if (other)
      problems.push(`${name} and ${other} both want port ${value}; give each service its own`);
    seen.set(value, name);
  }
  if (e.DATABASE_SCHEMA && !e.DATABASE_URL)
    problems.push('DATABASE_SCHEMA needs DATABASE_URL (SQLite has no schemas)');
  if (problems.length > 0) throw new SettingsError(problems);
  const dataDir = resolve(e.DATA_DIR);
  const wildcard = e.HOST === '0.0.0.0' || e.HOST === '::';
  return {
    host: e.HOST,
    reachableHost: wildcard ? (e.HOST === '::' ? '::1' : '127.0.0.1') : e.HOST,
    ports,
    amqpUrl: e.AMQP_URL,
    databaseUrl: e.DATABASE_URL,
    databaseSchema: e.DATABASE_SCHEMA,
    dataDir,
    logLevel: e.LOG_LEVEL,
    queuePrefix: e.QUEUE_PREFIX,
    stepQueueType: e.STEP_QUEUE_TYPE,
    devEmail: e.DEV_EMAIL,
    classifierModel: chooseClassifierModel(WORKSPACE_ROOT, e.MODEL_DIR),
    workflowsDir: join(WORKSPACE_ROOT, 'examples', 'document-processing', 'workflows'),
  };
}
