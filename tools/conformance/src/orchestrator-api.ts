import { readCounter } from '@conveyor/test-support';

/** The parts of the orchestrator's run view (GET /api/runs/{id}) that the checks read. */
export interface StepErrorView {
  readonly message: string;
  readonly code?: string;
  readonly retryable: boolean;
}

export interface AttemptView {
  readonly attempt: number;
  readonly status: string;
  readonly workerId: string | null;
  readonly error: StepErrorView | null;
}

export interface StepView {
  readonly taskId: string;
  readonly step: string;
  readonly status: string;
  readonly queue: string | null;
  readonly attempt: number;
  readonly progress: number | null;
  readonly input: unknown;
  readonly output: unknown;
  readonly error: StepErrorView | null;
  readonly attempts: readonly AttemptView[];
}

export interface RunView {
  readonly id: string;
  readonly workflow: string;
  readonly status: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timed_out';
  readonly input: unknown;
  readonly output: unknown;
  readonly error: StepErrorView | null;
  readonly steps: readonly StepView[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The orchestrator's HTTP API, as far as the kit needs it. */
export class OrchestratorApi {
  constructor(readonly base: string) {}

  /** Starts a run and returns its id at once. */
  async start(workflow: string, input: unknown): Promise<string> {
    const response = await fetch(`${this.base}/api/workflows/${workflow}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input }),
    });
    const body = (await response.json()) as { run?: { id: string }; error?: { message: string } };
    if (!response.ok || !body.run)
      throw new Error(
        `starting workflow ${workflow}: HTTP ${response.status} ${body.error?.message ?? ''}`,
      );
    return body.run.id;
  }

  async run(id: string): Promise<RunView> {
    const response = await fetch(`${this.base}/api/runs/${id}`);
    if (!response.ok) throw new Error(`reading run ${id}: HTTP ${response.status}`);
    return (await response.json()) as RunView;
  }

  /** Polls the run until `done(run)` holds; rejects with the last view after `timeoutMs`. */
  async waitFor(
    id: string,
    done: (run: RunView) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<RunView> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const run = await this.run(id);
      if (done(run)) return run;
      if (Date.now() > until)
        throw new Error(
          `${what} did not happen within ${timeoutMs / 1000} s; run ${id}: ${describeRun(run)}`,
        );
      await sleep(100);
    }
  }

  /** Waits for the run to finish (any final status). */
  finished(id: string, timeoutMs = 30_000): Promise<RunView> {
    return this.waitFor(id, (r) => r.status !== 'running', timeoutMs, 'the run finishing');
  }

  /** Starts a run and waits for it to finish. */
  async complete(workflow: string, input: unknown, timeoutMs = 30_000): Promise<RunView> {
    return this.finished(await this.start(workflow, input), timeoutMs);
  }

  counter(name: string, labels: string): Promise<number> {
    return readCounter(this.base, name, labels);
  }
}

/** One line per step: enough to see what went wrong without opening the inspector. */
export function describeRun(run: RunView): string {
  const steps = run.steps.map((s) => {
    const errors = s.attempts
      .map((a) => (a.error ? `#${a.attempt} ${a.status} ${a.error.code ?? ''}` : undefined))
      .filter(Boolean);
    return `${s.step}=${s.status}@${s.attempt}${errors.length ? ` [${errors.join(', ')}]` : ''}`;
  });
  const error = run.error ? ` error ${run.error.code ?? ''} "${run.error.message}"` : '';
  return `${run.status}${error}; steps ${steps.join(' ') || '(none)'}`;
}

export function stepOf(run: RunView, step: string): StepView {
  const found = run.steps.find((s) => s.step === step);
  if (!found) throw new Error(`run ${run.id} has no step ${step}: ${describeRun(run)}`);
  return found;
}
