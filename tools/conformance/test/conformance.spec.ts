import { resolve } from 'node:path';
import { REFERENCE_WORKERS } from '../src/reference-workers';
import { formatResult, runConformance, type CheckResult, type Report } from '../src/session';

// The kit against the real orchestrator and RabbitMQ: both SDKs' reference workers must pass
// every check, the document-processing example's Python worker every check its one queue can
// take (its hand-written predecessor all but one, a known gap), and a worker that breaks the
// protocol must fail exactly the checks it breaks. One session (one orchestrator), the five
// workers side by side.
const ROOT = resolve(__dirname, '..', '..', '..');
const AMQP_URL = process.env['TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';

const CARELESS = {
  name: 'careless',
  profile: 'contract',
  command:
    'TSX_TSCONFIG_PATH=tools/conformance/tsconfig.json exec node --import tsx tools/conformance/test/careless-worker.ts',
  only: [
    'success',
    'fatal',
    'heartbeat',
    'chain-to-missing-queue',
    'poison-invalid-request',
    'reconnect-after-connection-close',
  ],
} as const;

// On quorum queues (STEP_QUEUE_TYPE=quorum) in a second session at the same time, fewer checks:
// a worker that sets its prefetch per channel cannot consume at all there (protocol §3.1).
const QUORUM_CHECKS = ['success', 'chain', 'redelivery-after-kill'];

let report: Report;
let quorum: Report;

beforeAll(async () => {
  // allSettled: a session that fails still finishes its cleanup before the test ends.
  const [classic, onQuorum] = await Promise.allSettled([
    runConformance({
      root: ROOT,
      amqpUrl: AMQP_URL,
      targets: [
        REFERENCE_WORKERS.typescript,
        REFERENCE_WORKERS.python,
        REFERENCE_WORKERS.example,
        REFERENCE_WORKERS['hand-written'],
        CARELESS,
      ],
    }),
    runConformance({
      root: ROOT,
      amqpUrl: AMQP_URL,
      queueType: 'quorum',
      targets: [REFERENCE_WORKERS.typescript, REFERENCE_WORKERS.python].map((t) => ({
        ...t,
        only: QUORUM_CHECKS,
      })),
    }),
  ]);
  if (classic.status === 'rejected') throw classic.reason;
  if (onQuorum.status === 'rejected') throw onQuorum.reason;
  report = classic.value;
  quorum = onQuorum.value;
}, 200_000);

const of = (target: string) => report.results.filter((r) => r.target === target);
const show = (results: readonly CheckResult[]) => results.map(formatResult).join('\n');
const named = (results: readonly CheckResult[], status: string) =>
  results.filter((r) => r.outcome.status === status).map((r) => r.check);

it.each([REFERENCE_WORKERS.typescript.name, REFERENCE_WORKERS.python.name])(
  'the %s reference worker passes every check',
  (target) => {
    const results = of(target);
    // The formatted failures (reasons, worker output) are the diff when this fails.
    expect(show(results.filter((r) => r.outcome.status === 'failed'))).toBe('');
    expect(named(results, 'skipped')).toEqual([]);
    expect(results).toHaveLength(17);
  },
);

const EXTRACT_FIELDS_CHECKS = [
  'success',
  'fatal',
  'chain',
  'chain-to-missing-queue',
  'poison-invalid-request',
  'poison-crash-loop',
  'consumer-cancelled-by-broker',
  'reconnect-after-connection-close',
];

it("the example's Python worker passes every check its single queue can take", () => {
  const results = of(REFERENCE_WORKERS.example.name);
  expect(show(results.filter((r) => r.outcome.status === 'failed'))).toBe('');
  expect(named(results, 'passed')).toEqual(EXTRACT_FIELDS_CHECKS);
});

it('its hand-written predecessor, older than protocol §3.7, exits when the broker cancels its consumer', () => {
  const results = of(REFERENCE_WORKERS['hand-written'].name);
  expect(named(results, 'failed')).toEqual(['consumer-cancelled-by-broker']);
  expect(named(results, 'passed')).toEqual(
    EXTRACT_FIELDS_CHECKS.filter((c) => c !== 'consumer-cancelled-by-broker'),
  );
  const failure = results.find((r) => r.check === 'consumer-cancelled-by-broker')?.outcome;
  expect(failure?.status === 'failed' && failure.reason).toContain('the worker exited');
});

it('a worker that breaks the protocol fails the checks it breaks, and says why', () => {
  const results = of(CARELESS.name);
  const reasons = Object.fromEntries(
    results.map((r) => [r.check, r.outcome.status === 'failed' ? r.outcome.reason : '']),
  );
  expect(reasons).toEqual({
    success: '',
    fatal: expect.stringContaining('expected the run to be failed'),
    heartbeat: expect.stringContaining('got failed error STEP_TIMEOUT'),
    'chain-to-missing-queue': expect.stringContaining(
      'Publish chained requests with mandatory=true',
    ),
    'poison-invalid-request': expect.stringContaining('acked and dropped?'),
    'reconnect-after-connection-close': expect.stringContaining(
      'the worker exited when its connection was closed',
    ),
  });
  expect(named(results, 'passed')).toEqual(['success']);
  // The careless worker's five, the hand-written worker's one.
  expect(report.failed).toBe(6);
});

it.each([REFERENCE_WORKERS.typescript.name, REFERENCE_WORKERS.python.name])(
  'the %s reference worker passes on quorum queues too',
  (target) => {
    const results = quorum.results.filter((r) => r.target === target);
    expect(show(results.filter((r) => r.outcome.status === 'failed'))).toBe('');
    expect(named(results, 'passed')).toEqual(QUORUM_CHECKS);
  },
);
