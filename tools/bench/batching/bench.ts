/**
 * Micro-batching across runs (issue 20 part 1): one step whose handler stands in for a model —
 * 5 ms + 0.2 ms per item of the call, on ONE device (calls never overlap, as on one GPU) —
 * driven by 200 concurrent runs through the real orchestrator (its own process, SQLite) and
 * RabbitMQ. The same run measures the step as a single-item handler and as a batch handler,
 * one after the other, with the same orchestrator, and prints a Markdown section.
 *
 *   npx nx run worker-sdk:bench-batching                       # 10 s per variant
 *   npx nx run worker-sdk:bench-batching -- --seconds 30 --runs 200
 *
 * The model's cost is a sleep, not a busy-wait: a GPU call leaves the CPU free, and on a shared
 * machine a busy-wait would measure the other processes' load instead of the batching.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBus, type Bus } from '@conveyor/bus';
import type { RunEvent, StepRequest } from '@conveyor/contracts';
import { ORCHESTRATOR_READY, spawnOrchestrator } from '@conveyor/test-support';
import {
  defineBatchStepHandler,
  defineStepHandler,
  runEventsTopic,
  startStepWorker,
  stepProgressQueue,
  stepQueue,
  stepResultsQueue,
  type AnyStepHandler,
} from '@conveyor/worker-sdk';
import { connect } from 'amqplib';
import { Command } from 'commander';
import pino from 'pino';

const ROOT = join(__dirname, '..', '..', '..');
const logger = pino({ level: 'silent' });
const BASE_MS = 5;
const PER_ITEM_MS = 0.2;

interface Options {
  seconds: number;
  warmupSeconds: number;
  runs: number;
  maxBatchSize: number;
  maxWaitMs: number;
  amqpUrl: string;
}

/** One model on one device: calls queue up and run one at a time. */
class Device {
  private tail: Promise<void> = Promise.resolve();
  calls = 0;
  items = 0;

  run(items: number): Promise<void> {
    const call = this.tail.then(async () => {
      this.calls++;
      this.items += items;
      await new Promise((r) => setTimeout(r, BASE_MS + PER_ITEM_MS * items));
    });
    this.tail = call;
    return call;
  }
}

/**
 * run.completed events by run id. One may arrive before the HTTP response that names its run, so
 * an event nobody waits for yet is kept until asked for.
 */
class Completions {
  private readonly early = new Map<string, RunEvent>();
  private readonly waiting = new Map<string, (event: RunEvent | undefined) => void>();

  arrived(event: RunEvent): void {
    const resolve = this.waiting.get(event.runId);
    if (!resolve) {
      this.early.set(event.runId, event);
      return;
    }
    this.waiting.delete(event.runId);
    resolve(event);
  }

  /** The run's completion, or undefined (counted as failed) after `timeoutMs`. */
  wait(runId: string, timeoutMs: number): Promise<RunEvent | undefined> {
    const early = this.early.get(runId);
    if (early) {
      this.early.delete(runId);
      return Promise.resolve(early);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(runId);
        resolve(undefined);
      }, timeoutMs);
      this.waiting.set(runId, (event) => {
        clearTimeout(timer);
        resolve(event);
      });
    });
  }
}

interface Measured {
  variant: string;
  completed: number;
  failed: number;
  seconds: number;
  latencies: number[];
  meanBatch: number;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.round((p / 100) * (sorted.length - 1)))] ?? NaN;
}

/** One run from start to finish: resolves true if it succeeded (false: failed or lost). */
type OneRun = () => Promise<boolean>;

/** A run through the orchestrator: HTTP start, then its run.completed event. */
function orchestratedRun(base: string, workflow: string, completions: Completions): OneRun {
  return async () => {
    const response = await fetch(`${base}/api/workflows/${workflow}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: { n: 1 } }),
    });
    if (response.status !== 201) throw new Error(`start: HTTP ${response.status}`);
    const { run } = (await response.json()) as { run: { id: string } };
    const event = await completions.wait(run.id, 120_000);
    return event?.event === 'run.completed' && event.status === 'succeeded';
  };
}

/**
 * The worker side alone: this process plays the orchestrator (a step request published to the
 * queue, its result awaited on a results queue), as the SDK tests do.
 */
function directRun(
  bus: Bus,
  queue: string,
  results: { name: string; progress: string; waiting: Map<string, (ok: boolean) => void> },
): OneRun {
  return async () => {
    const taskId = randomUUID();
    const request: StepRequest = {
      type: 'workflow.step.request',
      version: 1,
      taskId,
      attempt: 1,
      runId: `direct-${taskId}`,
      workflow: { name: 'direct', version: 1 },
      step: 'model',
      queue,
      input: { n: 1 },
      deadline: new Date(Date.now() + 120_000).toISOString(),
      timeoutMs: 120_000,
      replyTo: results.name,
      progressTo: results.progress,
    };
    const done = new Promise<boolean>((resolve) => results.waiting.set(taskId, resolve));
    await bus.publish(stepQueue(queue), request, { messageId: `${taskId}:1` });
    return done;
  };
}

/** Keeps `opts.runs` runs in flight for warm-up + `opts.seconds`; measures the window. */
async function drive(
  oneRun: OneRun,
  device: Device,
  opts: Options,
): Promise<Omit<Measured, 'variant'>> {
  const measureFrom = performance.now() + opts.warmupSeconds * 1000;
  const stopAt = measureFrom + opts.seconds * 1000;
  const latencies: number[] = [];
  let completed = 0;
  let failed = 0;
  const snapshot = () => ({ calls: device.calls, items: device.items });
  let first: ReturnType<typeof snapshot> | undefined;
  let last: ReturnType<typeof snapshot> | undefined;

  const loop = async () => {
    for (;;) {
      const begun = performance.now();
      if (begun >= measureFrom) first ??= snapshot();
      if (begun >= stopAt) {
        last ??= snapshot();
        return;
      }
      const ok = await oneRun();
      const ended = performance.now();
      // Runs that ended inside the window, whenever they started: the closed loop's steady state.
      if (ended >= measureFrom && ended <= stopAt) {
        latencies.push(ended - begun);
        if (ok) completed++;
        else failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.runs }, loop));
  const calls = (last?.calls ?? 0) - (first?.calls ?? 0);
  const items = (last?.items ?? 0) - (first?.items ?? 0);
  return {
    completed,
    failed,
    seconds: opts.seconds,
    latencies,
    meanBatch: calls > 0 ? items / calls : NaN,
  };
}

async function main(): Promise<void> {
  const program = new Command()
    .option('--seconds <n>', 'measured seconds per variant', '10')
    .option('--warmup-seconds <n>', 'unmeasured seconds before each variant', '3')
    .option('--runs <n>', 'runs in flight', '200')
    .option('--max-batch-size <n>', 'the batch handler maxBatchSize', '32')
    .option('--max-wait-ms <n>', 'the batch handler maxWaitMs', '5')
    .option(
      '--amqp-url <url>',
      'RabbitMQ',
      process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    )
    .parse();
  const raw = program.opts<Record<string, string>>();
  const opts: Options = {
    seconds: Number(raw['seconds']),
    warmupSeconds: Number(raw['warmupSeconds']),
    runs: Number(raw['runs']),
    maxBatchSize: Number(raw['maxBatchSize']),
    maxWaitMs: Number(raw['maxWaitMs']),
    amqpUrl: String(raw['amqpUrl']),
  };

  const prefix = `bench-batch-${process.pid}-`;
  const handlers = [
    { name: 'single', label: 'single-item handler (prefetch 8)' },
    {
      name: 'batch',
      label: `batch handler (maxBatchSize ${opts.maxBatchSize}, maxWaitMs ${opts.maxWaitMs})`,
    },
  ] as const;
  const drivers = [
    { name: 'orchestrator', label: 'through the orchestrator (HTTP start → run.completed)' },
    { name: 'direct', label: 'worker side alone (request → result on RabbitMQ)' },
  ] as const;
  const queueOf = (driver: string, handler: string) => `${prefix}${driver}-${handler}`;
  const workflowsDir = mkdtempSync(join(tmpdir(), 'bench-batch-wf-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-batch-db-'));
  for (const h of handlers)
    writeFileSync(
      join(workflowsDir, `${h.name}.yaml`),
      `name: ${h.name}\nversion: 1\nsteps:\n  model: { queue: ${queueOf('orchestrator', h.name)}, input: 'input', timeout: 120s }\noutput: 'steps.model'\n`,
    );
  const { process: orchestrator, base } = await spawnOrchestrator({
    root: ROOT,
    amqpUrl: opts.amqpUrl,
    dataDir,
    workflowsDir,
    prefix,
    env: { LOG_LEVEL: 'info' },
  });
  let bus: Bus | undefined;
  const load = { before: loadavg(), after: [0, 0, 0] };
  const results: (Measured & { driver: string; handler: string })[] = [];
  const direct = {
    name: `${prefix}direct-results`,
    progress: `${prefix}direct-progress`,
    waiting: new Map<string, (ok: boolean) => void>(),
  };
  try {
    await orchestrator.waitForLine(ORCHESTRATOR_READY, 180_000);
    bus = await createBus({ url: opts.amqpUrl, logger, connectionName: `${prefix}workers` });
    const completions = new Completions();
    await bus.subscribe(
      runEventsTopic(`${prefix}events`),
      async (d) => completions.arrived(d.message),
      { pattern: 'run.completed.#', prefetch: 1000 },
    );
    await bus.assertQueue(stepProgressQueue(direct.progress));
    await bus.assertQueue(stepResultsQueue(direct.name));
    await bus.consume(
      stepResultsQueue(direct.name),
      async (d) => {
        const resolve = direct.waiting.get(d.message.taskId);
        direct.waiting.delete(d.message.taskId);
        resolve?.(d.message.status === 'succeeded');
      },
      { prefetch: 1000 },
    );
    for (const driver of drivers) {
      for (const h of handlers) {
        const device = new Device();
        const queue = queueOf(driver.name, h.name);
        const handler: AnyStepHandler =
          h.name === 'batch'
            ? defineBatchStepHandler({
                queue,
                maxBatchSize: opts.maxBatchSize,
                maxWaitMs: opts.maxWaitMs,
                handleBatch: async (items) => {
                  await device.run(items.length);
                  return items.map((i) => ({ status: 'succeeded' as const, output: i.input }));
                },
              })
            : defineStepHandler({
                queue,
                concurrency: 8,
                handle: async ({ input }) => {
                  await device.run(1);
                  return input;
                },
              });
        const worker = await startStepWorker({ bus, logger, handlers: [handler] });
        process.stderr.write(
          `${driver.label}, ${h.label}: ${opts.warmupSeconds} s warm-up + ${opts.seconds} s\n`,
        );
        const oneRun =
          driver.name === 'orchestrator'
            ? orchestratedRun(base, h.name, completions)
            : directRun(bus, queue, direct);
        const measured = await drive(oneRun, device, opts);
        await worker.close();
        results.push({ variant: h.label, driver: driver.name, handler: h.name, ...measured });
      }
    }
    load.after = loadavg();
  } finally {
    await bus?.close();
    await orchestrator.kill('SIGTERM');
    rmSync(workflowsDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    const conn = await connect(opts.amqpUrl);
    const ch = await conn.createChannel();
    for (const name of [
      ...drivers.flatMap((d) => handlers.map((h) => queueOf(d.name, h.name))),
      `${prefix}results`,
      `${prefix}progress`,
      direct.name,
      direct.progress,
    ]) {
      for (const q of [name, `${name}.dlq`, `${name}.retry`]) await ch.deleteQueue(q);
      await ch.deleteExchange(`${name}.dlx`);
    }
    // The run-events topic has its own dead-letter exchange and queue (bus topology).
    await ch.deleteExchange(`${prefix}events`);
    await ch.deleteQueue(`${prefix}events.dlq`);
    await ch.deleteExchange(`${prefix}events.dlx`);
    await conn.close();
  }

  const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
  const rate = (m: Measured | undefined) => (m ? m.completed / m.seconds : NaN);
  const p99 = (m: Measured | undefined) => percentile(m?.latencies ?? [], 99);
  const lines = [
    `Model stand-in: ${BASE_MS} ms + ${PER_ITEM_MS} ms × batch size per call (a sleep), one call at a time; ` +
      `${opts.runs} runs in flight (closed loop), ${opts.warmupSeconds} s warm-up then ${opts.seconds} s measured per row; ` +
      `orchestrator on SQLite, classic queues; ${cpus().length} cores, load average ${load.before.map((l) => fmt(l, 1)).join(' / ')} before, ` +
      `${load.after.map((l) => fmt(l, 1)).join(' / ')} after (1/5/15 min).`,
    '',
    '| driven | step worker | runs/s | run p50 (ms) | run p99 (ms) | mean items per model call | failed |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...results.map(
      (m) =>
        `| ${drivers.find((d) => d.name === m.driver)?.label} | ${m.variant} | ${fmt(rate(m))} | ${fmt(percentile(m.latencies, 50))} | ${fmt(p99(m))} | ${fmt(m.meanBatch)} | ${m.failed} |`,
    ),
    '',
    ...drivers.map((d) => {
      const single = results.find((m) => m.driver === d.name && m.handler === 'single');
      const batch = results.find((m) => m.driver === d.name && m.handler === 'batch');
      return `- ${d.label}: batching gives ${fmt(rate(batch) / rate(single), 2)}× the throughput at ${fmt(p99(batch) / p99(single), 2)}× the p99 (lower is better).`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
