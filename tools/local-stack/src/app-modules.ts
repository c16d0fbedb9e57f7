import { join } from 'node:path';
import type { Bus } from '@conveyor/bus';
import type { Logger, Observability } from '@conveyor/observability';
import type { StepHandlerDefinition } from '@conveyor/worker-sdk';
import { WORKSPACE_ROOT } from './settings';

/**
 * Loads a module of an app by its path, at run time (in the service's own thread).
 *
 * Why not an import: apps must not import apps, and @nx/enforce-module-boundaries forbids
 * importing application projects statically. The launcher is the composition root of
 * local mode, so it reaches each app through its entry module, as a process manager would through
 * its command line. `require` rather than `import()`: tsx and Jest both hook `require` to compile
 * TypeScript and resolve the @conveyor/* aliases, and it returns the CommonJS exports unchanged.
 */
function loadModule(relativePath: string): Record<string, unknown> {
  const file = join(WORKSPACE_ROOT, relativePath);
  return require(file) as Record<string, unknown>;
}

function exported<F>(relativePath: string, name: string): F {
  const value = loadModule(relativePath)[name];
  if (typeof value !== 'function') {
    throw new Error(
      `${relativePath} no longer exports a function ${name}(); update tools/local-stack/src/app-modules.ts to that app's current API`,
    );
  }
  return value as F;
}

/** What every adapter needs back from a started service: where it listens and how it stops. */
export interface StartedApp {
  readonly url: string;
  readonly obs: Pick<Observability, 'shutdown' | 'setVar'>;
}

type Env = Record<string, string>;

/*
 * One small typed view per app of what its start() takes and returns. Only what the launcher
 * uses is typed; each app's own config parser validates the environment built for it, so a
 * variable an app renamed fails with that app's message rather than being ignored.
 */

export const orchestrator = {
  configFromEnv: (env: Env) =>
    exported<(env: Env) => unknown>('apps/orchestrator/src/config.ts', 'configFromEnv')(env),
  start: (config: unknown, options: { logger: Logger; handleSignals: false }) =>
    exported<(c: unknown, o: typeof options) => Promise<StartedApp>>(
      'apps/orchestrator/src/main.ts',
      'start',
    )(config, options),
};

export const classifier = {
  loadConfig: (env: Env) =>
    exported<(env: Env) => unknown>('apps/classifier/src/config.ts', 'loadConfig')(env),
  /** The HTTP API. */
  start: (config: unknown, options: { handleSignals: false }) =>
    exported<(c: unknown, o: typeof options) => Promise<StartedApp>>(
      'apps/classifier/src/main.ts',
      'start',
    )(config, options),
  /** The `classify` step worker (its own model instance and a health listener). */
  startWorker: (config: unknown, options: { handleSignals: false }) =>
    exported<(c: unknown, o: typeof options) => Promise<StartedApp>>(
      'apps/classifier/src/worker.ts',
      'startWorker',
    )(config, options),
};

export const checkers = {
  loadConfig: (env: Env) =>
    exported<(env: Env) => unknown>('apps/checkers/src/config.ts', 'loadConfig')(env),
  /** Builds the browser and engine-thread bundles that are missing or stale (start() would too). */
  ensureBundles: (bundleDir: string, options: { onBuild: (name: string) => void }) =>
    exported<(dir: string, o: typeof options) => Promise<unknown>>(
      'apps/checkers/src/bundles.ts',
      'ensureBundles',
    )(bundleDir, options),
  start: (config: unknown, options: { logger: Logger; handleSignals: false }) =>
    exported<(c: unknown, o: typeof options) => Promise<StartedApp>>(
      'apps/checkers/src/main.ts',
      'start',
    )(config, options),
};

export const svcProxy = {
  parseConfig: (env: Env) =>
    exported<(env: Env) => unknown>('apps/svc-proxy/src/config.ts', 'parseConfig')(env),
  start: (config: unknown, options: { logger: Logger; handleSignals: false }) =>
    exported<(c: unknown, o: typeof options) => Promise<StartedApp>>(
      'apps/svc-proxy/src/main.ts',
      'start',
    )(config, options),
};

export const documentProcessingExample = {
  /** The example's TypeScript workers (ocr, split-documents, notify-failure), without its classify stand-in. */
  handlers: (options: { logger: Logger; withClassify: false; queuePrefix: string }) =>
    exported<(o: typeof options) => StepHandlerDefinition<never, unknown>[]>(
      'examples/document-processing/src/workers.ts',
      'exampleHandlers',
    )(options),
};

export type { Bus };
