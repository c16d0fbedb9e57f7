import { z } from 'zod';
import type { AdminListener } from './observability';

const PORT_MESSAGE =
  'ADMIN_PORT must be a port number from 0 to 65535 (unset: /metrics and /debug/* stay on PORT)';

/**
 * ADMIN_PORT and ADMIN_HOST, for a service's environment schema: spread into its z.object and
 * add `.superRefine(checkAdminEnv)`. Empty means unset, as for every other variable.
 */
export const adminEnvShape = {
  ADMIN_PORT: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce
      .number({ error: PORT_MESSAGE })
      .int({ error: PORT_MESSAGE })
      .min(0, { error: PORT_MESSAGE })
      .max(65535, { error: PORT_MESSAGE })
      .optional(),
  ),
  ADMIN_HOST: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.string().trim().optional(),
  ),
};

export interface AdminEnv {
  readonly ADMIN_PORT?: number | undefined;
  readonly ADMIN_HOST?: string | undefined;
}

export function checkAdminEnv(env: AdminEnv, ctx: z.RefinementCtx): void {
  if (env.ADMIN_HOST !== undefined && env.ADMIN_PORT === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['ADMIN_HOST'],
      message: 'ADMIN_HOST is set without ADMIN_PORT: set ADMIN_PORT too, or unset ADMIN_HOST',
    });
}

/** The `admin` option of createObservability from the parsed variables; undefined when unset. */
export function adminListenerFrom(env: AdminEnv): AdminListener | undefined {
  if (env.ADMIN_PORT === undefined) return undefined;
  return { port: env.ADMIN_PORT, host: env.ADMIN_HOST };
}
