import path from 'node:path';
import { adminEnvShape, checkAdminEnv } from '@conveyor/observability';
import { z } from 'zod';
import { SHIPPED_MODEL_DIR } from './paths';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

/** Every setting comes from the environment (12-factor); defaults are for running locally. */
export const configSchema = z.object({
  PORT: port.default(3002),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** /metrics and /debug/* on their own listener (unset: on PORT); ADMIN_HOST defaults to HOST. */
  ...adminEnvShape,
  /** Unset: the worker uses the embedded in-process bus (single-process development). */
  AMQP_URL: z.url({ protocol: /^amqps?$/ }).optional(),
  DATABASE_URL: z.string().optional(),
  DATA_DIR: z.string().min(1).default('./var/classifier'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** The model directory (classifier.json + weights); default: the one shipped in the repo. */
  MODEL_DIR: z.string().min(1).default(SHIPPED_MODEL_DIR),
  /** Dynamic batching: most items per model call, and how long the first item may wait for others. */
  BATCH_MAX_SIZE: positiveInt.max(256).default(16),
  BATCH_WAIT_MS: z.coerce.number().min(0).max(1000).default(5),
  /** Items allowed to wait for the model before requests get 503 (back-pressure). */
  MAX_QUEUED_ITEMS: positiveInt.default(1024),
  /** Largest accepted request body (bytes); larger bodies get 413. */
  BODY_LIMIT_BYTES: positiveInt.default(1_048_576),
  /** Worker: the step queue it consumes (the workflow YAML's `queue`); tests use unique names. */
  CLASSIFY_QUEUE: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'use 1-200 letters, digits, ".", "_", ":" or "-"')
    .default('classify'),
  /** Worker: step requests handled at once (AMQP prefetch); they are batched together. */
  WORKER_CONCURRENCY: positiveInt.max(256).default(16),
});
export type ClassifierConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment; the error names every bad variable at once, not just the first. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ClassifierConfig {
  const relevant = Object.fromEntries(
    Object.keys(configSchema.shape)
      .filter((key) => env[key] !== undefined && env[key] !== '')
      .map((key) => [key, env[key]]),
  );
  const parsed = configSchema.superRefine(checkAdminEnv).safeParse(relevant);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '(environment)');
      return `  ${name}=${JSON.stringify(env[name] ?? '')}: ${issue.message}`;
    });
    throw new ConfigError(`invalid classifier configuration:\n${problems.join('\n')}`);
  }
  return { ...parsed.data, MODEL_DIR: path.resolve(parsed.data.MODEL_DIR) };
}

export function configFrom(overrides: Partial<ClassifierConfig>): ClassifierConfig {
  return { ...configSchema.parse({}), ...overrides };
}
