import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrchestrator, type LoggedProcess } from '@conveyor/test-support';
import { Broker } from './broker';
import type { Check, CheckContext, WorkerUnderTest } from './check';
import { CHECKS } from './checks';
import { CONTRACT_ENV, type QueueType } from './contract';
import { OrchestratorApi } from './orchestrator-api';
import { subjectFor, type ProfileName, type Subject } from './profiles';
import { WorkerProcess } from './worker-process';

/** One worker implementation to test. */
export interface TargetSpec {
  /** Shown in the report. */
  readonly name: string;
  /** Shell command that starts the worker (run with `sh -c` from the repository root). */
  readonly command: string;
  readonly profile: ProfileName;
  /** Run only these checks (names); default all. */
  readonly only?: readonly string[];
}

export interface SessionOptions {
  /** The repository root (the orchestrator runs from its sources there). */
  readonly root: string;
  readonly amqpUrl: string;
  /** STEP_QUEUE_TYPE of the orchestrator and every worker. Default classic. */
  readonly queueType?: QueueType;
  readonly targets: readonly TargetSpec[];
  /** Progress lines (each check's outcome as it happens). */
  readonly log?: (line: string) => void;
}

export type Outcome =
  | { readonly status: 'passed'; readonly note?: string }
  | { readonly status: 'failed'; readonly reason: string; readonly workerOutput: string }
  | { readonly status: 'skipped'; readonly reason: string };

export interface CheckResult {
  readonly target: string;
  readonly check: string;
  readonly sections: string;
  readonly ms: number;
  readonly outcome: Outcome;
}

export interface Report {
  readonly results: readonly CheckResult[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

interface Target {
  readonly spec: TargetSpec;
  readonly slug: string;
  readonly prefix: string;
  readonly subject: Subject;
  readonly checks: readonly Check[];
}

/** What interrupted sessions must still undo: kill the workers and orchestrator, delete queues. */
const interruptHandlers = new Set<() => Promise<void>>();

/** For a SIGINT/SIGTERM handler: cleans up every running session (workers run detached). */
export async function interruptSessions(): Promise<void> {
  await Promise.all(
    [...interruptHandlers].map((cleanup) =>
      cleanup().catch((error: unknown) =>
        console.error(`conformance: cleaning up after the interruption failed: ${String(error)}`),
      ),
    ),
  );
}

const workflowName = (sessionPrefix: string, slug: string, check: string, local: string) =>
  `${sessionPrefix}-${slug}-${check}-${local}`;

/**
 * Runs the checks against each target: one orchestrator for the session (its own workflows,
 * queues under a fresh prefix, SQLite in a temporary directory), the targets side by side, every
 * queue and exchange under the prefix deleted at the end.
 */
export async function runConformance(options: SessionOptions): Promise<Report> {
  const log = options.log ?? (() => undefined);
  const sessionPrefix = `conformance-${randomBytes(4).toString('hex')}`;
  const unknown = options.targets.flatMap((t) =>
    (t.only ?? []).filter((name) => !CHECKS.some((c) => c.name === name)),
  );
  if (unknown.length > 0)
    throw new Error(
      `unknown check(s) ${unknown.join(', ')}; the checks are ${CHECKS.map((c) => c.name).join(', ')}`,
    );
  const targets: Target[] = options.targets.map((spec, i) => {
    const slug = `w${i + 1}`;
    const prefix = `${sessionPrefix}-${slug}`;
    return {
      spec,
      slug,
      prefix,
      subject: subjectFor(spec.profile, prefix, options.queueType ?? 'classic'),
      checks: CHECKS.filter((c) => !spec.only || spec.only.includes(c.name)),
    };
  });

  const workflowsDir = mkdtempSync(join(tmpdir(), 'conformance-workflows-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'conformance-db-'));
  let orchestrator: LoggedProcess | undefined;
  let broker: Broker | undefined;
  const workers = new Set<WorkerProcess>();
  const results: CheckResult[] = [];
  const interrupted = new AbortController();
  const onInterrupt = async () => {
    // First, so that no check starts and no worker is restarted meanwhile.
    interrupted.abort();
    for (const worker of workers) await worker.kill();
    await orchestrator?.kill('SIGTERM');
    await broker?.deleteEverythingUnder(sessionPrefix);
    rmSync(workflowsDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  };
  interruptHandlers.add(onInterrupt);
  try {
    for (const target of targets) {
      // Never run: it makes the orchestrator declare every queue of the target at start-up, as
      // in production, also those no selected check uses (a worker may consume without declaring).
      const topology = workflowName(sessionPrefix, target.slug, 'all', 'queues');
      writeFileSync(
        join(workflowsDir, `${topology}.yaml`),
        JSON.stringify({
          name: topology,
          version: 1,
          steps: Object.fromEntries(target.subject.queues.map((queue, i) => [`q${i}`, { queue }])),
        }),
      );
      for (const check of target.checks) {
        if (check.skip?.(target.subject)) continue;
        for (const [local, spec] of Object.entries(check.workflows(target.subject))) {
          const name = workflowName(sessionPrefix, target.slug, check.name, local);
          // JSON is YAML: no serializer needed.
          writeFileSync(
            join(workflowsDir, `${name}.yaml`),
            JSON.stringify({ name, version: 1, ...spec }, null, 2),
          );
        }
      }
    }
    log(`conformance: starting the orchestrator (queues under ${sessionPrefix})`);
    const kit = await Broker.open(options.amqpUrl, `${sessionPrefix}-kit`);
    broker = kit;
    // On a port of its own choosing, read from its ready line: a port found free beforehand
    // can be taken during the seconds tsx needs to start it. A failed start kills it.
    const started = await startOrchestrator({
      root: options.root,
      amqpUrl: options.amqpUrl,
      dataDir,
      workflowsDir,
      prefix: `${sessionPrefix}.`,
      env: { STEP_QUEUE_TYPE: options.queueType ?? 'classic' },
      timeoutMs: 120_000,
    });
    orchestrator = started.process;
    const api = new OrchestratorApi(started.base);
    // Targets are independent (own queues, workflows and metric labels) and mostly wait on
    // timers, so they run side by side; with several, each line names its target.
    const exclusive = new Mutex();
    const perTarget = await Promise.all(
      targets.map((target) =>
        runTarget(target, {
          ...options,
          log: targets.length > 1 ? (line) => log(`[${target.spec.name}] ${line.trim()}`) : log,
          api,
          broker: kit,
          sessionPrefix,
          exclusive,
          orchestrator: started.process,
          workers,
          interrupted: interrupted.signal,
        }),
      ),
    );
    results.push(...perTarget.flat());
  } finally {
    interruptHandlers.delete(onInterrupt);
    await orchestrator?.kill('SIGTERM');
    if (broker) {
      await broker.deleteEverythingUnder(sessionPrefix).catch((error: unknown) => {
        log(`conformance: could not delete the queues under ${sessionPrefix}: ${String(error)}`);
      });
      await broker.close();
    }
    rmSync(workflowsDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
  return {
    results,
    passed: results.filter((r) => r.outcome.status === 'passed').length,
    failed: results.filter((r) => r.outcome.status === 'failed').length,
    skipped: results.filter((r) => r.outcome.status === 'skipped').length,
  };
}

async function runTarget(
  target: Target,
  session: SessionOptions & {
    log: (line: string) => void;
    api: OrchestratorApi;
    broker: Broker;
    sessionPrefix: string;
    exclusive: Mutex;
    orchestrator: LoggedProcess;
    /** Every worker process started, for an interrupted session to kill. */
    workers: Set<WorkerProcess>;
    interrupted: AbortSignal;
  },
): Promise<CheckResult[]> {
  const { broker, api, log } = session;
  const { subject, spec } = target;
  const workerProcess = new WorkerProcess(spec.command, session.root, {
    [CONTRACT_ENV.amqpUrl]: session.amqpUrl,
    [CONTRACT_ENV.queueType]: subject.queueType,
    ...subject.env,
  });
  session.workers.add(workerProcess);
  const worker: WorkerUnderTest = {
    process: workerProcess,
    async start() {
      if (session.interrupted.aborted) throw new Error('interrupted');
      workerProcess.start();
      await broker.waitForConsumers(subject.queues, true, 60_000, () => workerProcess.alive());
    },
    async kill() {
      await workerProcess.kill();
      await broker.waitForConsumers(subject.queues, false, 30_000);
    },
  };
  log(
    `\nworker "${spec.name}" (profile ${spec.profile}, ${subject.queueType} queues): ${spec.command}`,
  );
  const results: CheckResult[] = [];
  const record = (check: Check, ms: number, outcome: Outcome) => {
    results.push({ target: spec.name, check: check.name, sections: check.sections, ms, outcome });
    log(formatResult(results[results.length - 1] as CheckResult));
  };
  let startError: string | undefined;
  try {
    await worker.start();
  } catch (error) {
    startError = `the worker did not start consuming ${subject.queues.join(', ')}: ${(error as Error).message}`;
  }
  try {
    for (const check of target.checks) {
      if (session.interrupted.aborted) break;
      const skip = check.skip?.(subject);
      if (skip) {
        record(check, 0, { status: 'skipped', reason: skip });
        continue;
      }
      const startedAt = Date.now();
      if (startError) {
        record(check, 0, {
          status: 'failed',
          reason: startError,
          workerOutput: workerProcess.tail(),
        });
        continue;
      }
      const context: CheckContext = {
        subject,
        api,
        broker,
        worker,
        prefix: target.prefix,
        workflow: (local) => workflowName(session.sessionPrefix, target.slug, check.name, local),
      };
      try {
        // A check that stopped the worker and failed leaves it to the next one to restart.
        if (!workerProcess.alive()) await worker.start();
        const note = check.exclusive
          ? await session.exclusive.run(() => check.run(context))
          : await check.run(context);
        record(check, Date.now() - startedAt, { status: 'passed', ...(note ? { note } : {}) });
      } catch (error) {
        const orchestrator = session.orchestrator;
        const gone = orchestrator.process.exitCode !== null || orchestrator.process.signalCode;
        record(check, Date.now() - startedAt, {
          status: 'failed',
          reason: gone
            ? `${(error as Error).message} — the orchestrator exited; its last output:\n${orchestrator.output().slice(-2000)}`
            : (error as Error).message,
          workerOutput: workerProcess.tail(1500),
        });
      }
    }
  } finally {
    await workerProcess.stop();
  }
  return results;
}

/** One at a time, in call order. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export function formatResult(result: CheckResult): string {
  const { outcome } = result;
  const seconds = `${(result.ms / 1000).toFixed(1)} s`;
  switch (outcome.status) {
    case 'passed':
      return `  ✓ ${result.check} (${result.sections}) ${seconds}${outcome.note ? ` — ${outcome.note}` : ''}`;
    case 'skipped':
      return `  - ${result.check} (${result.sections}) skipped: ${outcome.reason}`;
    case 'failed':
      return [
        `  ✗ ${result.check} (${result.sections}) ${seconds}: ${outcome.reason}`,
        ...(outcome.workerOutput.trim()
          ? [
              '    worker output (last lines):',
              ...outcome.workerOutput
                .trim()
                .split('\n')
                .slice(-15)
                .map((l) => `    | ${l}`),
            ]
          : []),
      ].join('\n');
  }
}

export function formatSummary(report: Report): string {
  return `${report.passed} passed, ${report.failed} failed${report.skipped ? `, ${report.skipped} skipped` : ''}`;
}
