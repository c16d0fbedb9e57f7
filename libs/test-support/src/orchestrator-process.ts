import { join } from 'node:path';
import { freePort } from './free-port';
import { spawnTs, type LoggedProcess } from './logged-process';

export interface OrchestratorProcessOptions {
  /** The repository root: the orchestrator is `apps/orchestrator/src/main.ts` under it. */
  readonly root: string;
  readonly amqpUrl: string;
  /** Its SQLite database goes here. */
  readonly dataDir: string;
  readonly workflowsDir: string;
  /**
   * Starts the names of its results and progress queues and its events exchange
   * (`${prefix}results`, …), so that parallel test runs never share them.
   */
  readonly prefix: string;
  /** More environment, e.g. `{ CHAIN_LINKS: '0' }`. */
  readonly env?: Record<string, string>;
}

/** The line the orchestrator logs once it serves HTTP and consumes results. */
export const ORCHESTRATOR_READY = /orchestrator listening/;

/**
 * The orchestrator as its own process on a free port, on RabbitMQ and SQLite, logging at info.
 * Not awaited: start the workers meanwhile, then `process.waitForLine(ORCHESTRATOR_READY, …)`.
 */
export async function spawnOrchestrator(
  options: OrchestratorProcessOptions,
): Promise<{ readonly process: LoggedProcess; readonly base: string }> {
  const port = await freePort();
  const child = spawnTs(join(options.root, 'apps/orchestrator/src/main.ts'), {
    cwd: options.root,
    tsconfig: join(options.root, 'apps/orchestrator/tsconfig.json'),
    env: {
      PORT: String(port),
      AMQP_URL: options.amqpUrl,
      DATA_DIR: options.dataDir,
      WORKFLOWS_DIR: options.workflowsDir,
      RESULTS_QUEUE: `${options.prefix}results`,
      PROGRESS_QUEUE: `${options.prefix}progress`,
      EVENTS_EXCHANGE: `${options.prefix}events`,
      LOG_LEVEL: 'info',
      ...options.env,
    },
  });
  return { process: child, base: `http://127.0.0.1:${port}` };
}
