/**
 * A bench rig: orchestrator processes under one name prefix with the workflow files they load, a
 * Harness fed by their `run.completed` events, and the step workers in this process — set up the
 * same way by every part of the benchmark and by the CPU profile, and torn down with every queue,
 * exchange, schema and file it made.
 */
import { type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBus, type Bus, type QueueType } from '@conveyor/bus';
import { freePort } from '@conveyor/test-support';
import {
  defineStepHandler,
  runEventsTopic,
  startStepWorker,
  type AnyStepHandler,
  type StepWorker,
} from '@conveyor/worker-sdk';
import type pino from 'pino';
import {
  cleanupBroker,
  dropSchema,
  Harness,
  schemaOf,
  startOrchestrator,
  stopOrchestrator,
} from './harness';

export interface RigOptions {
  /** Names of queues, exchanges, schema and workflows' step queues start with it. */
  readonly prefix: string;
  readonly amqpUrl: string;
  /** PostgreSQL; unset → SQLite in the rig's temporary directory. */
  readonly databaseUrl?: string | undefined;
  readonly queueType: QueueType;
  readonly chainLinks: number;
  /** Workflow files (file name → YAML) the orchestrators load. */
  readonly workflows: Readonly<Record<string, string>>;
  /** Orchestrator processes sharing the database, result queue and step queues (default 1). */
  readonly replicas?: number;
  /** What the workers in this process serve. */
  readonly handlers: AnyStepHandler[];
  readonly logger: pino.Logger;
}

export interface Rig {
  /** One per replica, in start order. */
  readonly children: readonly ChildProcess[];
  readonly bases: readonly string[];
  readonly harness: Harness;
  /** Stops the workers and orchestrators, then deletes the queues, schema and files. */
  close(): Promise<void>;
}

/** The no-op step every 3-step and fan-out run goes through. */
export const noopStep = (prefix: string) =>
  defineStepHandler({
    queue: `${prefix}-noop`,
    concurrency: 256,
    handle: async ({ input }) => input,
  });

export async function startRig(options: RigOptions): Promise<Rig> {
  const { prefix, amqpUrl, databaseUrl, logger } = options;
  const workDir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const workflowsDir = join(workDir, 'workflows');
  mkdirSync(workflowsDir, { recursive: true });
  for (const [name, text] of Object.entries(options.workflows))
    writeFileSync(join(workflowsDir, name), text);
  const setup = {
    prefix,
    amqpUrl,
    ...(databaseUrl ? { databaseUrl } : {}),
    dataDir: join(workDir, 'data'),
    workflowsDir,
    queueType: options.queueType,
    chainLinks: options.chainLinks,
  };
  const children: ChildProcess[] = [];
  let bus: Bus | undefined;
  let worker: StepWorker | undefined;
  const close = async () => {
    await worker?.close();
    for (const child of children) await stopOrchestrator(child);
    await bus?.close();
    await cleanupBroker(amqpUrl, prefix);
    if (databaseUrl) await dropSchema(databaseUrl, schemaOf(prefix));
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    const bases: string[] = [];
    // One after the other: the first creates the schema (a second would wait on its lock).
    for (let i = 0; i < (options.replicas ?? 1); i++) {
      const { child, base } = await startOrchestrator(setup, await freePort());
      children.push(child);
      bases.push(base);
    }
    const harness = new Harness(bases);
    bus = await createBus({ url: amqpUrl, logger, connectionName: `${prefix}-workers` });
    await bus.subscribe(
      runEventsTopic(`${prefix}-events`),
      async (d) => harness.onEvent(d.message),
      { pattern: 'run.completed.#', prefetch: 1000 },
    );
    worker = await startStepWorker({
      bus,
      logger,
      skipExpired: false,
      queueType: options.queueType,
      handlers: options.handlers,
    });
    return { children, bases, harness, close };
  } catch (error) {
    await close();
    throw error;
  }
}
