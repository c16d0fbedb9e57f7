import { z } from 'zod';

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `500ms`, `30s`, `5m`, `1h`, `1.5s` or a number of milliseconds. */
export const Duration = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'use a duration such as 500ms, 30s, 5m or 1h')
    .transform((text) => {
      const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
      return Math.round(Number(match?.[1]) * UNITS[(match?.[2] ?? 'ms') as keyof typeof UNITS]);
    }),
]);

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
