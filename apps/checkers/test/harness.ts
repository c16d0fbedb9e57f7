import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { createLogger } from '@conveyor/observability';
import { loadConfig, type CheckersConfig } from '../src/config';
import { start, type RunningCheckers } from '../src/main';

export const POSTGRES_URL =
  process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const AMQP_URL = process.env['TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
export const BUNDLE_DIR = resolve(__dirname, '..', 'dist');

export const quietLogger = () =>
  createLogger('checkers-test', { level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });

export type StorageKind = 'sqlite' | 'postgres';

/** A unique, throwaway place to store games: a temp dir or a PostgreSQL schema of its own. */
export interface TestStorage {
  readonly kind: StorageKind;
  readonly env: Record<string, string>;
  dispose(): Promise<void>;
}

export function createTestStorage(kind: StorageKind): TestStorage {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'checkers-test-'));
    return {
      kind,
      env: { DATA_DIR: dir },
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const schema = `checkers_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  return {
    kind,
    env: { DATABASE_URL: POSTGRES_URL, DATABASE_SCHEMA: schema },
    dispose: async () => {
      const pool = new Pool({ connectionString: POSTGRES_URL, max: 1 });
      try {
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await pool.end();
      }
    },
  };
}

export function testConfig(env: Record<string, string>): CheckersConfig {
  return loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ENGINE_THREADS: '2',
    BUNDLE_DIR: BUNDLE_DIR,
    ...env,
  });
}

export async function startTestServer(env: Record<string, string>): Promise<RunningCheckers> {
  return start(testConfig(env), { handleSignals: false, logger: quietLogger() });
}

export const uniqueName = (prefix: string) =>
  `${prefix}.${process.pid}.${randomBytes(4).toString('hex')}`;
