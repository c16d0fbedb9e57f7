import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Observability } from '@conveyor/observability';
import type { Logger } from 'pino';
import { requireUser, stillAllowed, userOf } from './auth/gate';
import { metricsBearerGate } from './auth/metrics-bearer';
import { authRouter } from './auth/routes';
import { sessionMiddleware, type SessionCodec, type SessionData } from './auth/session';
import type { SvcProxyConfig } from './config';
import type { TargetSource } from './discovery/source';
import type { PodProxy } from './proxy/proxy';
import { PROXY_PREFIX } from './proxy/route';
import { isExpensiveProfile, startedElsewhere } from './web/fetch-site';
import { crossSiteProfilePage, errorPage, landingPage, targetRows } from './web/pages';

export interface AppDeps {
  readonly config: SvcProxyConfig;
  readonly codec: SessionCodec;
  readonly directory: TargetSource;
  readonly podProxy: PodProxy;
  readonly obs: Observability;
  readonly logger: Logger;
}

const SSE_HEARTBEAT_MS = 20_000;

/**
 * Order is the security model: session → sign-in routes → requireUser → everything else,
 * including the observability endpoints (only /healthz and /readyz pass requireUser unauthenticated;
 * /metrics and /debug/vars need a signed-in operator like the pods' own debug pages do).
 */
export function createApp(deps: AppDeps): Express {
  const { config, codec, directory, podProxy, obs, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.set('case sensitive routing', true);
  app.set('strict routing', true);

  // Absolute-form targets (`GET http://10.0.0.1/ HTTP/1.1`) are forward-proxy requests; this is
  // not one, and Express would otherwise route them by their path alone.
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (req.url.startsWith('/')) {
      next();
      return;
    }
    logger.warn(
      { url: req.url.slice(0, 200), ip: req.socket.remoteAddress },
      'absolute-form request refused',
    );
    res
      .status(400)
      .type('text/plain')
      .send(
        'svc-proxy: not a forward proxy; request a path such as /proxy/<namespace>/<service>/<pod>/\n',
      );
  });
  if (config.metricsBearerToken)
    app.get('/metrics', metricsBearerGate(config.metricsBearerToken, obs.registry, logger));
  app.use(sessionMiddleware(codec, logger));
  app.use(authRouter(config, codec, logger));
  app.use(requireUser(codec, config.access, logger));
  // The proxy's own CPU and wall-clock profiles, like the pods' (see proxy.ts): only from this
  // origin or typed in, never started by another site's link.
  app.get(
    /^\/debug\/pprof\/(?:profile|trace|wall)$/,
    (req: Request, res: Response, next: NextFunction) => {
      if (!startedElsewhere(req.headers) || !isExpensiveProfile(req.path)) {
        next();
        return;
      }
      logger.warn(
        { path: req.path, fetchSite: req.headers['sec-fetch-site'], email: userOf(req).email },
        'profile started from another site; confirmation page shown',
      );
      crossSiteProfilePage(res, req.originalUrl);
    },
  );
  obs.mount(app);

  app.get('/', (req: Request, res: Response) => {
    landingPage(res, userOf(req).email, directory.list());
  });

  app.get('/api/targets', (_req: Request, res: Response) => {
    res
      .set('cache-control', 'no-store')
      .json({ synced: directory.synced, targets: directory.list() });
  });

  // Server-sent events: the landing page's table follows pods as they come and go.
  app.get('/api/targets/events', (req: Request, res: Response) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    const send = () => {
      const targets = directory.list();
      res.write(
        `event: rows\ndata: ${JSON.stringify({ count: targets.length, html: targetRows(targets).html })}\n\n`,
      );
    };
    send();
    const unsubscribe = directory.subscribe(send);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
    // Streams never finish by themselves: end them as soon as shutdown starts so draining is quick.
    const watchShutdown = setInterval(() => {
      if (obs.lifecycle.phase !== 'running') res.end();
    }, 250);
    const cleanup = () => {
      unsubscribe();
      clearInterval(heartbeat);
      clearInterval(watchShutdown);
    };
    req.on('close', cleanup);
    res.on('close', cleanup);
  });

  // Reached only if the front door (below) let a /proxy/ request through and requireUser then
  // found a user after all; Express strips the mount path from req.url, handle() wants it whole.
  app.use(PROXY_PREFIX, (req: Request, res: Response) => {
    req.url = req.originalUrl;
    podProxy.handle(req, res, userOf(req));
  });

  app.use((req: Request, res: Response) => {
    errorPage(
      res,
      404,
      'Not found',
      `Nothing at ${req.path}. Pods are under ${PROXY_PREFIX}<namespace>/<service>/<pod>/.`,
    );
  });

  app.use((error: Error, req: Request, res: Response, _next: NextFunction) => {
    logger.error({ err: error.message, stack: error.stack, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    errorPage(
      res,
      500,
      'Internal error',
      'svc-proxy failed to handle this request; the details are in its logs.',
    );
  });

  return app;
}

/**
 * The hot path, in front of Express: a /proxy/ request of a signed-in, still-allowed operator
 * goes straight from the server's 'request' event to the pod proxy. Express's per-request work
 * (its request/response prototypes, the router, the middleware chain) cost more than the
 * proxying itself. Everything else, including /proxy/ requests without a valid session (sign-in
 * redirect, 401, the allow-list's 403) and every other path, goes to the Express app unchanged.
 */
export function proxyFrontDoor(
  deps: Pick<AppDeps, 'config' | 'codec' | 'podProxy' | 'logger'>,
  app: Express,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { config, codec, podProxy, logger } = deps;
  const dispatch = (req: IncomingMessage, res: ServerResponse, data: SessionData): void => {
    const user = codec.currentUser(data);
    if (user && stillAllowed(user, config.access)) podProxy.handle(req, res, user);
    else app(req, res);
  };
  // This runs outside Express's error handling: a throw here must end this request only.
  const failed = (req: IncomingMessage, res: ServerResponse, error: unknown): void => {
    logger.error(
      {
        err: (error as Error)?.message,
        stack: (error as Error)?.stack,
        path: req.url?.slice(0, 300),
      },
      'request failed before reaching the pod proxy',
    );
    if (res.headersSent) res.destroy();
    else
      res
        .writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
        .end('svc-proxy: internal error\n');
  };
  return (req, res) => {
    if (req.url === undefined || !req.url.startsWith(PROXY_PREFIX)) {
      app(req, res);
      return;
    }
    const cookie = req.headers.cookie;
    try {
      const cached = codec.readCached(cookie);
      if (cached !== undefined) {
        dispatch(req, res, cached);
        return;
      }
    } catch (error) {
      failed(req, res, error);
      return;
    }
    codec
      .read(cookie)
      .then((data) => dispatch(req, res, data))
      .catch((error: unknown) => failed(req, res, error));
  };
}

/**
 * Puts `front` in the place of `app` among the server's 'request' listeners (listeners added
 * before it, such as observability's in-flight tracking for graceful shutdown, keep running
 * first). Throws if `app` is not a listener: the front door must never be silently missing.
 */
export function serveThrough(
  server: Server,
  app: Express,
  front: (req: IncomingMessage, res: ServerResponse) => void,
): void {
  if (!server.listeners('request').includes(app))
    throw new Error("svc-proxy: the app is not the server's request listener");
  server.removeListener('request', app);
  server.on('request', front);
}
