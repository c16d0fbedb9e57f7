import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBus, createEmbeddedBroker, type Bus } from '@conveyor/bus';
import { startStepWorker, type StepHandlerDefinition, type StepWorker } from '@conveyor/worker-sdk';
import pino from 'pino';
import { Pool } from 'pg';
import { start, type Orchestrator } from '../src/main';
import type { OrchestratorConfig } from '../src/config';
import type { StoreConfig } from '../src/store/database';
import { DEFAULT_CHAINED_RECORD_WAIT_MS } from '../src/engine/results-intake';

export const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const quietLogger = () => pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let counter = 0;
/** A name no other test run (here or in another helper's suite) uses. */
export function unique(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}`;
}

/**
 * RabbitMQ buses a test file opens on the real broker, each on its own connection named
 * `<prefix>-<name>` (so tests can find and drop it), all closed by `closeAll()` in `afterAll`.
 */
export function brokerBuses(prefix: string): {
  bus(name: string): Promise<Bus>;
  closeAll(): Promise<void>;
} {
  const open: Bus[] = [];
  return {
    async bus(name) {
      const b = await createBus({
        url: AMQP_URL,
        logger: quietLogger(),
        connectionName: `${prefix}-${name}`,
      });
      open.push(b);
      return b;
    },
    async closeAll() {
      for (const b of open.splice(0)) await b.close();
    },
  };
}

export function workflowDir(files: Record<string, string>): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'orch-wf-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function sqliteStore(): { store: StoreConfig; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'orch-db-'));
  return {
    store: { kind: 'sqlite', file: join(dir, 'orchestrator.sqlite') },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A fresh PostgreSQL schema for this test run; dropped by cleanup(). */
export function postgresStore(): { store: StoreConfig; cleanup(): Promise<void> } {
  const schema = unique('orch').replace(/-/g, '_').toLowerCase();
  return {
    store: { kind: 'postgres', url: PG_URL, schema },
    async cleanup() {
      const pool = new Pool({ connectionString: PG_URL, max: 1 });
      try {
        await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await pool.end();
      }
    },
  };
}

/** A test's database and its cleanup; no store: startSystem makes a fresh SQLite file. */
export type TestStore = () => { store?: StoreConfig; cleanup(): Promise<void> };

/** For describe.each over both databases (`$db` names the one a test runs on). */
export const BOTH_DATABASES: readonly { db: string; store: TestStore }[] = [
  { db: 'SQLite', store: () => ({ cleanup: () => Promise.resolve() }) },
  { db: 'PostgreSQL', store: postgresStore },
];

export function testConfig(
  overrides: Partial<OrchestratorConfig> & Pick<OrchestratorConfig, 'store' | 'workflowsDir'>,
): OrchestratorConfig {
  return {
    port: 0,
    host: '127.0.0.1',
    amqpUrl: undefined,
    logLevel: 'silent',
    resultsQueue: unique('results'),
    progressQueue: unique('progress'),
    eventsExchange: unique('events'),
    sweepIntervalMs: 50,
    republishAfterMs: 30_000,
    stepEvents: 'all',
    stepQueueType: 'classic',
    chainLinks: 16,
    chainedRecordWaitMs: DEFAULT_CHAINED_RECORD_WAIT_MS,
    connectionName: unique('orchestrator-test'),
    ...overrides,
  };
}

/** An orchestrator plus workers on an isolated embedded broker (or RabbitMQ with amqpUrl). */
export async function startSystem(options: {
  workflows: Record<string, string>;
  handlers: StepHandlerDefinition<never, unknown>[] | StepHandlerDefinition<any, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  store?: StoreConfig;
  amqpUrl?: string;
  config?: Partial<OrchestratorConfig>;
}): Promise<{
  orchestrator: Orchestrator;
  worker: StepWorker;
  bus: Bus;
  config: OrchestratorConfig;
  close(): Promise<void>;
}> {
  const wf = workflowDir(options.workflows);
  const sqlite = options.store ? undefined : sqliteStore();
  const store = options.store ?? sqlite?.store;
  if (!store) throw new Error('no store');
  const config = testConfig({
    store,
    workflowsDir: wf.dir,
    amqpUrl: options.amqpUrl,
    ...options.config,
  });
  const bus = options.amqpUrl
    ? await createBus({
        url: options.amqpUrl,
        logger: quietLogger(),
        connectionName: unique('orch-test-bus'),
      })
    : await createBus({ embeddedBroker: createEmbeddedBroker(), logger: quietLogger() });
  const orchestrator = await start(config, { logger: quietLogger(), bus });
  const worker = await startStepWorker({
    bus,
    handlers: options.handlers,
    logger: quietLogger(),
    queueType: config.stepQueueType,
  });
  return {
    orchestrator,
    worker,
    bus,
    config,
    async close() {
      await worker.close();
      await orchestrator.close();
      await bus.close();
      wf.cleanup();
      sqlite?.cleanup();
    },
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
