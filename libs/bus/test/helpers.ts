import { z } from 'zod';

/** Polls until the predicate holds; fails with what it was waiting for (no fixed sleeps). */
export async function waitFor(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const Job = z.object({
  type: z.literal('test.job'),
  version: z.literal(1),
  n: z.number().int(),
  text: z.string().min(1),
});
export type Job = z.infer<typeof Job>;

export const job = (n: number, text = `job ${n}`): Job => ({
  type: 'test.job',
  version: 1,
  n,
  text,
});

export const Event = z.object({ type: z.string(), id: z.number().int() });
export type Event = z.infer<typeof Event>;

/** Unique per test run: the broker is shared with other suites running at the same time. */
export const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
