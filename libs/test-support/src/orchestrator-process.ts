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
const READY_LINE = /^\{.*orchestrator listening.*\}$/;

function spawnOn(port: number, options: OrchestratorProcessOptions): LoggedProcess {
  return spawnTs(join(options.root, 'apps/orchestrator/src/main.ts'), {
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
}

/**
 * The orchestrator as its own process on a free port, on RabbitMQ and SQLite, logging at info.
 * Not awaited: start the workers meanwhile, then `process.waitForLine(ORCHESTRATOR_READY, …)`.
 * The port was free when chosen; another process's connection can take it during the seconds
 * tsx needs to start the orchestrator. `startOrchestrator` has no such window.
 */
export async function spawnOrchestrator(
  options: OrchestratorProcessOptions,
): Promise<{ readonly process: LoggedProcess; readonly base: string }> {
  const port = await freePort();
  return { process: spawnOn(port, options), base: `http://127.0.0.1:${port}` };
}

/**
 * The orchestrator as its own process, ready: it binds a port of its own choosing (PORT=0) and
 * the URL is read from its ORCHESTRATOR_READY line. Rejects, with its output, if it exits or
 * has not started within `timeoutMs`; it is killed then, so a failed start leaves no process.
 */
export async function startOrchestrator(
  options: OrchestratorProcessOptions & { readonly timeoutMs?: number },
): Promise<{ readonly process: LoggedProcess; readonly base: string }> {
  const child = spawnOn(0, options);
  try {
    // The whole JSON line: output can arrive cut anywhere, and the URL is parsed from it.
    const line = await child.waitForLine(READY_LINE, options.timeoutMs ?? 120_000);
    return { process: child, base: listeningBase(line) };
  } catch (error) {
    await child.kill();
    throw error;
  }
}

/** `http://127.0.0.1:<port>` from a service's JSON "listening" log line (its `url` field). */
export function listeningBase(line: string): string {
  const { url } = JSON.parse(line) as { url?: unknown };
  const port = typeof url === 'string' ? new URL(url).port : '';
  if (!port) throw new Error(`no url with a port in the listening line: ${line}`);
  return `http://127.0.0.1:${port}`;
}
