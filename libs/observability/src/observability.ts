import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express, Request, Response } from 'express';
import type { Logger } from 'pino';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import {
  assertVarName,
  collectDebugVars,
  safeStringify,
  type VarGetter,
  type VarValue,
} from './debug-vars';
import { httpMetricsMiddleware } from './http-metrics';
import { startGcObserver } from './memstats';
import { runReadinessChecks, type ReadinessCheck } from './readiness';
import { startSignalHandling } from './signals';
import { errorMessage, sleep, withTimeout } from './timeouts';

export interface ObservabilityOptions {
  service: string;
  logger: Logger;
  version?: string;
  /** Per readiness check (default 2000 ms). */
  readinessTimeoutMs?: number;
  /** Per /debug/vars getter (default 2000 ms); a slower one is reported as timed out. */
  varTimeoutMs?: number;
  /** How long shutdown waits for in-flight requests before cutting connections (default 10 s). */
  drainTimeoutMs?: number;
  /** Per shutdown hook (default 5000 ms). */
  hookTimeoutMs?: number;
  /**
   * Pause between failing /readyz and closing the listener (default 0). In Kubernetes, endpoint
   * removal races SIGTERM; a few seconds here (or a preStop sleep) avoids refused connections.
   */
  shutdownDelayMs?: number;
  /** Install SIGTERM/SIGINT handlers that shut down and exit (default true). */
  handleSignals?: boolean;
  /** Register prom-client's default process metrics (default true). */
  defaultMetrics?: boolean;
  /**
   * How long an idle keep-alive connection stays open (default 65 s). It must outlast the
   * proxies' idle timeout (ingress-nginx keeps upstream connections 60 s); Node's own 5 s lets a
   * proxy reuse a connection the server is closing, and the client gets a 502.
   */
  keepAliveTimeoutMs?: number;
}

export type ShutdownHook = () => Promise<unknown> | unknown;

/** The lifecycle is one of these; a shutdown, once started, never goes back. */
export type Lifecycle =
  | { readonly phase: 'running' }
  | { readonly phase: 'shutting-down'; readonly reason: string }
  | { readonly phase: 'stopped'; readonly reason: string; readonly clean: boolean };

export interface ShutdownOutcome {
  /** False if requests were cut off at the drain deadline or a hook failed or timed out. */
  readonly clean: boolean;
}

export interface Observability {
  readonly service: string;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly lifecycle: Lifecycle;
  addReadinessCheck(name: string, check: ReadinessCheck): void;
  setVar(name: string, valueOrGetter: VarValue | VarGetter): void;
  mount(app: Express): void;
  listen(app: Express, port: number, host?: string): Promise<Server>;
  onShutdown(name: string, hook: ShutdownHook): void;
  shutdown(reason?: string): Promise<ShutdownOutcome>;
}

interface TrackedServer {
  readonly server: Server;
  readonly inFlight: Set<ServerResponse>;
  readonly closed: Promise<void>;
}

export function createObservability(options: ObservabilityOptions): Observability {
  const { service, logger, version } = options;
  if (!service) throw new Error('createObservability: service is required');
  const readinessTimeoutMs = options.readinessTimeoutMs ?? 2000;
  const varTimeoutMs = options.varTimeoutMs ?? 2000;
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  const hookTimeoutMs = options.hookTimeoutMs ?? 5000;
  const shutdownDelayMs = options.shutdownDelayMs ?? 0;
  const keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 65_000;

  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  if (version !== undefined) {
    new Gauge({
      name: 'conveyor_build_info',
      help: 'Always 1; labelled with the running version',
      labelNames: ['version'] as const,
      registers: [registry],
    }).set({ version }, 1);
  }
  startGcObserver();

  const checks = new Map<string, ReadinessCheck>();
  const vars = new Map<string, { getter: VarGetter } | { value: VarValue }>();
  const hooks: { name: string; hook: ShutdownHook }[] = [];
  const servers: TrackedServer[] = [];
  const mounted = new WeakSet<Express>();
  let lifecycle: Lifecycle = { phase: 'running' };
  let shutdownPromise: Promise<ShutdownOutcome> | undefined;

  const stopSignals =
    options.handleSignals === false
      ? () => undefined
      : startSignalHandling(logger, (signal) => obs.shutdown(signal));

  const sendJson = (res: Response, status: number, body: unknown) => {
    res.status(status).type('application/json').send(safeStringify(body));
  };

  async function drain(): Promise<boolean> {
    let clean = true;
    for (const { server } of servers) {
      server.close(); // stop accepting; the 'close' event fires once every connection is gone
      server.closeIdleConnections();
    }
    const inFlight = () => servers.reduce((n, s) => n + s.inFlight.size, 0);
    if (inFlight() > 0)
      logger.info({ inFlight: inFlight() }, 'shutdown: waiting for in-flight requests');
    const deadline = Date.now() + drainTimeoutMs;
    while (inFlight() > 0 && Date.now() < deadline) await sleep(25);
    if (inFlight() > 0) {
      clean = false;
      logger.warn(
        { inFlight: inFlight(), drainTimeoutMs },
        'shutdown: drain deadline passed, closing connections',
      );
    }
    for (const { server } of servers) server.closeAllConnections();
    await Promise.all(servers.map((s) => s.closed));
    if (servers.length > 0) logger.info('shutdown: HTTP servers closed');
    return clean;
  }

  async function runHooks(): Promise<boolean> {
    let clean = true;
    for (const { name, hook } of [...hooks].reverse()) {
      const started = Date.now();
      try {
        await withTimeout(async () => hook(), hookTimeoutMs, `shutdown hook "${name}"`);
        logger.info({ hook: name, durationMs: Date.now() - started }, 'shutdown: hook done');
      } catch (error) {
        clean = false;
        logger.error({ hook: name, err: errorMessage(error) }, 'shutdown: hook failed');
      }
    }
    return clean;
  }

  const obs: Observability = {
    service,
    logger,
    registry,
    get lifecycle() {
      return lifecycle;
    },

    addReadinessCheck(name, check) {
      if (checks.has(name)) throw new Error(`readiness check "${name}" is already registered`);
      checks.set(name, check);
    },

    setVar(name, valueOrGetter) {
      assertVarName(name);
      vars.set(
        name,
        typeof valueOrGetter === 'function'
          ? { getter: valueOrGetter as VarGetter }
          : { value: valueOrGetter },
      );
    },

    mount(app) {
      if (mounted.has(app)) throw new Error('observability is already mounted on this app');
      mounted.add(app);
      app.use(httpMetricsMiddleware(registry));
      app.get('/healthz', (_req: Request, res: Response) => {
        if (lifecycle.phase === 'running') sendJson(res, 200, { status: 'ok', service });
        else sendJson(res, 503, { status: lifecycle.phase, service });
      });
      app.get('/readyz', async (_req: Request, res: Response) => {
        if (lifecycle.phase !== 'running') {
          sendJson(res, 503, { status: 'shutting down', service });
          return;
        }
        const report = await runReadinessChecks(checks, readinessTimeoutMs);
        if (report.ready) {
          sendJson(res, 200, { status: 'ready', service, checks: report.checks });
          return;
        }
        const failing = Object.entries(report.checks)
          .filter(([, r]) => !r.ok)
          .map(([name]) => name);
        logger.warn({ failing, checks: report.checks }, 'readiness: not ready');
        sendJson(res, 503, { status: 'not ready', service, failing, checks: report.checks });
      });
      app.get('/metrics', async (_req: Request, res: Response) => {
        res.type(registry.contentType).send(await registry.metrics());
      });
      app.get('/debug/vars', async (_req: Request, res: Response) => {
        sendJson(res, 200, await collectDebugVars(service, version, vars, varTimeoutMs));
      });
    },

    async listen(app, port, host = '127.0.0.1') {
      if (lifecycle.phase !== 'running')
        throw new Error(`cannot listen: ${service} is ${lifecycle.phase}`);
      const server = await new Promise<Server>((resolve, reject) => {
        const s = app.listen(port, host);
        s.once('listening', () => resolve(s));
        s.once('error', (error: NodeJS.ErrnoException) => {
          const hint =
            error.code === 'EADDRINUSE'
              ? ': the address is in use; set PORT to a free port'
              : error.code === 'EADDRNOTAVAIL'
                ? ': no such local address; check HOST'
                : '';
          reject(
            new Error(
              `${service} cannot listen on ${host}:${port} (${error.code ?? error.message})${hint}`,
            ),
          );
        });
      });
      server.keepAliveTimeout = keepAliveTimeoutMs;
      // headersTimeout must exceed keepAliveTimeout, or Node drops kept-alive sockets early.
      server.headersTimeout = Math.max(server.headersTimeout, keepAliveTimeoutMs + 1000);
      const inFlight = new Set<ServerResponse>();
      server.prependListener('request', (_req, res: ServerResponse) => {
        inFlight.add(res);
        res.once('close', () => inFlight.delete(res));
        // Requests still arriving on kept-alive sockets during shutdown get their socket closed
        // after the response, so clients reconnect to a pod that is still serving.
        if (lifecycle.phase !== 'running') res.setHeader('Connection', 'close');
      });
      const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
      servers.push({ server, inFlight, closed });
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      logger.info(
        { url: `http://${shownHost}:${address.port}`, port: address.port },
        `${service} listening`,
      );
      return server;
    },

    onShutdown(name, hook) {
      hooks.push({ name, hook });
    },

    shutdown(reason = 'shutdown requested') {
      shutdownPromise ??= (async () => {
        lifecycle = { phase: 'shutting-down', reason };
        logger.info({ reason }, 'shutdown: started');
        for (const s of servers) {
          for (const res of s.inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
        }
        if (shutdownDelayMs > 0) {
          logger.info(
            { shutdownDelayMs },
            'shutdown: readiness failing, waiting before closing listeners',
          );
          await sleep(shutdownDelayMs);
        }
        const drained = await drain();
        const hooksOk = await runHooks();
        const clean = drained && hooksOk;
        lifecycle = { phase: 'stopped', reason, clean };
        stopSignals();
        logger.info({ clean }, 'shutdown: complete');
        return { clean };
      })();
      return shutdownPromise;
    },
  };
  return obs;
}
