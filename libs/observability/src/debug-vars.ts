import { memstats } from './memstats';
import { errorMessage, withTimeout } from './timeouts';

export type VarValue = unknown;
export type VarGetter = () => unknown | Promise<unknown>;

/** Names the page fills itself; setVar refuses them so a service cannot shadow them by mistake. */
export const RESERVED_VARS = [
  'cmdline',
  'memstats',
  'uptime',
  'pid',
  'node',
  'service',
  'version',
] as const;

export function assertVarName(name: string): void {
  if (!name) throw new Error('setVar: name must be a non-empty string');
  if ((RESERVED_VARS as readonly string[]).includes(name)) {
    throw new Error(
      `setVar: "${name}" is reserved by /debug/vars (${RESERVED_VARS.join(', ')}); pick another name`,
    );
  }
}

/** How long one getter may take before the page reports it as timed out instead of hanging. */
export const VAR_GETTER_TIMEOUT_MS = 2000;

/**
 * The /debug/vars document in the spirit of Go's expvar. Getters are evaluated per request; a
 * getter that throws or hangs is reported in place as {"error": "..."} so one bad var never
 * hides the rest.
 */
export async function collectDebugVars(
  service: string,
  version: string | undefined,
  vars: ReadonlyMap<string, { readonly getter: VarGetter } | { readonly value: VarValue }>,
  getterTimeoutMs = VAR_GETTER_TIMEOUT_MS,
): Promise<Record<string, unknown>> {
  const page: Record<string, unknown> = {
    service,
    ...(version === undefined ? {} : { version }),
    cmdline: process.argv,
    pid: process.pid,
    node: process.version,
    uptime: process.uptime(),
    memstats: memstats(),
  };
  await Promise.all(
    [...vars].map(async ([name, entry]) => {
      if (!('getter' in entry)) {
        page[name] = entry.value;
        return;
      }
      try {
        page[name] = await withTimeout(
          async () => entry.getter(),
          getterTimeoutMs,
          `debug var "${name}"`,
        );
      } catch (error) {
        page[name] = { error: errorMessage(error) };
      }
    }),
  );
  return page;
}

/** JSON.stringify that survives bigints and cycles, which service getters may well return. */
export function safeStringify(value: unknown): string {
  // Ancestors of the value being serialised: only a reference back up the chain is a cycle
  // (the same object twice in sibling positions is not).
  const ancestors: unknown[] = [];
  return JSON.stringify(
    value,
    function (this: unknown, _key, v: unknown) {
      if (typeof v === 'bigint') return v.toString();
      if (typeof v !== 'object' || v === null) return v;
      while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop();
      if (ancestors.includes(v)) return '[Circular]';
      ancestors.push(v);
      return v;
    },
    2,
  );
}
