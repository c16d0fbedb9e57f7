import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type Request, type Response, type Router } from 'express';
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
import { startHeapSampling } from './pprof/capture';
import { pprofRouter } from './pprof/routes';
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
  /**
   * A second listener for /metrics, /debug/vars and /debug/pprof (ADMIN_PORT / ADMIN_HOST).
   * Set: they are served only there and the app's own port answers 404 for them. Unset:
   * everything is on the app's port. /healthz and /readyz are on both.
   */
  admin?: AdminListener | undefined;
  /** V8's sampling heap profiler, for /debug/pprof/heap (default true; see the README's costs). */
  heapSampling?: boolean;
}

export interface AdminListener {
  readonly port: number;
  /** Default: the host the app listens on. */
  readonly host?: string | undefined;
}

/** What moves to the admin listener when there is one (path prefixes). */
export const ADMIN_ONLY_PATHS = ['/metrics', '/debug/vars', '/debug/pprof'];

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
  /** Listens with `app`, and also starts the admin listener (once) when `admin` was given. */
  listen(app: Express, port: number, host?: string): Promise<Server>;
  /** The admin listener once `listen` started it; undefined without `admin`. */
  readonly adminServer: Server | undefined;
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
  if (options.heapSampling !== false) startHeapSampling();
  const admin = options.admin;

  const checks = new Map<string, ReadinessCheck>();
  const vars = new Map<string, { getter: VarGetter } | { value: VarValue }>();
  const hooks: { name: string; hook: ShutdownHook }[] = [];
  const servers: TrackedServer[] = [];
  const mounted = new WeakSet<Express>();
  let lifecycle: Lifecycle = { phase: 'running' };
  let shutdownPromise: Promise<ShutdownOutcome> | undefined;
  let adminServer: Server | undefined;
  const shuttingDown = new AbortController();

  const stopSignals =
    options.handleSignals === false
      ? () => undefined
      : startSignalHandling(logger, (signal) => obs.shutdown(signal));

  const sendJson = (res: Response, status: number, body: unknown) => {
    res.status(status).type('application/json').send(safeStringify(body));
  };

  const probeRoutes: Router = express.Router();
  probeRoutes.get('/healthz', (_req: Request, res: Response) => {
    if (lifecycle.phase === 'running') sendJson(res, 200, { status: 'ok', service });
    else sendJson(res, 503, { status: lifecycle.phase, service });
  });
  probeRoutes.get('/readyz', async (_req: Request, res: Response) => {
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

  const debugRoutes: Router = express.Router();
  debugRoutes.get('/metrics', async (_req: Request, res: Response) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  debugRoutes.get('/debug/vars', async (_req: Request, res: Response) => {
    sendJson(res, 200, await collectDebugVars(service, version, vars, varTimeoutMs));
  });
  debugRoutes.use(pprofRouter({ registry, logger, shutdownSignal: shuttingDown.signal }));

  // One histogram per registry, shared by the app's listener and the admin one.
  let metricsMiddleware: ReturnType<typeof httpMetricsMiddleware> | undefined;
  const requestMetrics = () => (metricsMiddleware ??= httpMetricsMiddleware(registry));

  /** The admin listener's app: the probes again (handy for humans), metrics and debug pages. */
  function adminApp(): Express {
    const app = express();
    app.disable('x-powered-by');
    app.use(requestMetrics());
    app.use(probeRoutes);
    app.use(debugRoutes);
    app.use((req: Request, res: Response) => {
      res
        .status(404)
        .type('text/plain')
        .send(
          `${req.path} is not served on the admin port: it has /metrics, /debug/vars, /debug/pprof/, /healthz, /readyz\n`,
        );
    });
    return app;
  }

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

  async function listenOn(
    app: Express,
    port: number,
    host: string,
    variable: 'PORT' | 'ADMIN_PORT',
  ): Promise<Server> {
    const server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(port, host);
      s.once('listening', () => resolve(s));
      s.once('error', (error: NodeJS.ErrnoException) => {
        const hint =
          error.code === 'EADDRINUSE'
            ? `: the address is in use; set ${variable} to a free port`
            : error.code === 'EADDRNOTAVAIL'
              ? `: no such local address; check ${variable === 'PORT' ? 'HOST' : 'ADMIN_HOST'}`
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
      variable === 'PORT' ? `${service} listening` : `${service} admin listening`,
    );
    return server;
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
      app.use(requestMetrics());
      app.use(probeRoutes);
      if (admin) {
        // Every method and sub-path, so that no later app route or fallback serves them here.
        app.use(ADMIN_ONLY_PATHS, (req: Request, res: Response) => {
          res
            .status(404)
            .type('text/plain')
            .send(`${req.baseUrl} is not served on this port (it is on the admin port)\n`);
        });
      } else {
        app.use(debugRoutes);
      }
    },

    get adminServer() {
      return adminServer;
    },

    async listen(app, port, host = '127.0.0.1') {
      if (lifecycle.phase !== 'running')
        throw new Error(`cannot listen: ${service} is ${lifecycle.phase}`);
      if (admin && admin.port === port && port !== 0)
        throw new Error(
          `${service}: ADMIN_PORT (${admin.port}) must differ from PORT, or be unset to serve everything on PORT`,
        );
      const server = await listenOn(app, port, host, 'PORT');
      if (admin && !adminServer) {
        try {
          adminServer = await listenOn(adminApp(), admin.port, admin.host ?? host, 'ADMIN_PORT');
        } catch (error) {
          server.close();
          server.closeAllConnections();
          throw error;
        }
      }
      return server;
    },

    onShutdown(name, hook) {
      hooks.push({ name, hook });
    },

    shutdown(reason = 'shutdown requested') {
      shutdownPromise ??= (async () => {
        lifecycle = { phase: 'shutting-down', reason };
        shuttingDown.abort();
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
