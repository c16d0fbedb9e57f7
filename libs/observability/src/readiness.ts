import { errorMessage, withTimeout } from './timeouts';

export type ReadinessCheck = () => Promise<unknown> | unknown;

export type CheckResult =
  | { readonly ok: true; readonly durationMs: number }
  | { readonly ok: false; readonly durationMs: number; readonly error: string };

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Record<string, CheckResult>;
}

/** Runs every check concurrently, each bounded by `timeoutMs`, and reports all outcomes. */
export async function runReadinessChecks(
  checks: ReadonlyMap<string, ReadinessCheck>,
  timeoutMs: number,
): Promise<ReadinessReport> {
  const entries = await Promise.all(
    [...checks].map(async ([name, check]): Promise<[string, CheckResult]> => {
      const started = performance.now();
      const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
      try {
        await withTimeout(async () => check(), timeoutMs, `readiness check "${name}"`);
        return [name, { ok: true, durationMs: elapsed() }];
      } catch (error) {
        return [name, { ok: false, durationMs: elapsed(), error: errorMessage(error) }];
      }
    }),
  );
  return { ready: entries.every(([, r]) => r.ok), checks: Object.fromEntries(entries) };
}
