/**
 * The conformance kit's command line:
 *
 *   npx nx run conformance:run -- --worker '<command that starts the worker>' [--profile contract]
 *
 * Prints each check as it finishes and ends with `N passed, N failed`; exits 1 on any failure,
 * 2 on a usage error.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CHECKS } from './checks';
import { PROFILES, type ProfileName } from './profiles';
import { REFERENCE_WORKERS, type ReferenceWorker } from './reference-workers';
import { formatSummary, interruptSessions, runConformance } from './session';

const ROOT = resolve(__dirname, '..', '..', '..');

const REFERENCES = Object.keys(REFERENCE_WORKERS) as ReferenceWorker[];

const USAGE = `usage: conformance --worker '<command>' [--name <name>] [--profile ${PROFILES.join('|')}]
                   [--only <check,check,…>] [--amqp-url <url>] [--queue-type classic|quorum]
       conformance --reference ${REFERENCES.join('|')} [--only …] [--amqp-url <url>] [--queue-type …]

Starts the orchestrator (from this repository) on RabbitMQ, then the worker with
CONFORMANCE_PREFIX, CONFORMANCE_QUEUES, AMQP_URL and STEP_QUEUE_TYPE in its environment,
and runs the checks against it. The command runs with sh -c from the repository root.
See tools/conformance/README.md for the worker contract.

checks: ${CHECKS.map((c) => c.name).join(', ')}`;

function usage(problem: string): never {
  console.error(`${problem}\n\n${USAGE}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        worker: { type: 'string' },
        reference: { type: 'string' },
        name: { type: 'string' },
        profile: { type: 'string' },
        only: { type: 'string' },
        'amqp-url': { type: 'string' },
        'queue-type': { type: 'string', default: 'classic' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    usage((error as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.reference !== undefined && !REFERENCES.includes(values.reference as ReferenceWorker))
    usage(`--reference must be one of ${REFERENCES.join(', ')}, got "${values.reference}"`);
  const reference = values.reference
    ? REFERENCE_WORKERS[values.reference as ReferenceWorker]
    : undefined;
  const command = values.worker ?? reference?.command;
  if (!command) usage('--worker is required: the shell command that starts the worker');
  const profile = (values.profile ?? reference?.profile ?? 'contract') as ProfileName;
  if (!PROFILES.includes(profile))
    usage(`--profile must be one of ${PROFILES.join(', ')}, got "${values.profile}"`);
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = (only ?? []).filter((name) => !CHECKS.some((c) => c.name === name));
  if (unknown.length > 0) usage(`--only names unknown check(s): ${unknown.join(', ')}`);

  const queueType = values['queue-type'];
  if (queueType !== 'classic' && queueType !== 'quorum')
    usage(`--queue-type must be classic or quorum, got "${queueType}"`);

  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      // The worker runs in its own process group: Ctrl-C does not reach it.
      console.error(
        `\nconformance: ${signal}: stopping the worker and the orchestrator, deleting the queues…`,
      );
      void interruptSessions().finally(() => process.exit(130));
    });

  const report = await runConformance({
    queueType,
    root: ROOT,
    amqpUrl: values['amqp-url'] ?? process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672',
    targets: [
      {
        name: values.name ?? reference?.name ?? command,
        command,
        profile,
        ...(only ? { only } : {}),
      },
    ],
    log: (line) => console.log(line),
  });
  console.log(`\n${formatSummary(report)}`);
  process.exitCode = report.failed > 0 ? 1 : 0;
}

main().catch((error: unknown) => {
  console.error(`conformance: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
