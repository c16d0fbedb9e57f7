import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { PassThrough, type Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { Agent } from 'undici';
import { stillAllowed } from '../auth/gate';
import type { SessionCodec, SessionUser } from '../auth/session';
import type { SvcProxyConfig } from '../config';
import type { TargetSource } from '../discovery/source';
import type { Target } from '../discovery/targets';
import { isExpensiveProfile, startedElsewhere } from '../web/fetch-site';
import { crossSiteProfilePage } from '../web/pages';
import { auditLogger, type AuditRecord, type AuditTarget } from './audit';
import { upstreamHeaders } from './headers';
import { plainError, Relay, type Exchange, type RelayDeps } from './relay';
import { downstreamHeaders, type ResponsePolicy } from './response-headers';
import { parseProxyPath } from './route';
import { rejectUpgrade, tunnel } from './websocket';

export { POD_SANDBOX_CSP } from './response-headers';

const hostFor = (t: Target): string =>
  t.ip.includes(':') ? `[${t.ip}]:${t.port}` : `${t.ip}:${t.port}`;

const auditTarget = (t: Target): AuditTarget => ({
  namespace: t.namespace,
  service: t.service,
  pod: t.pod,
});

const errorMessage = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

type Outcome = AuditRecord['outcome'];
const OUTCOMES: readonly Outcome[] = [
  'proxied',
  'refused',
  'upstream-error',
  'proxy-error',
  'client-aborted',
  'websocket',
];

export interface PodProxy {
  /**
   * For requests of a signed-in, still-allowed operator: `req.url` is the path as requested
   * (`/proxy/<ns>/<svc>/<pod>/…`), `req` and `res` are Node's own (Express is not involved).
   */
  handle(req: IncomingMessage, res: ServerResponse, user: SessionUser): void;
  /** For HTTP upgrades, which bypass Express: authenticates from the cookie itself. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

type Resolved =
  | {
      readonly kind: 'ok';
      readonly target: Target;
      readonly prefix: string;
      readonly upstreamPath: string;
    }
  | { readonly kind: 'redirect'; readonly location: string }
  | {
      readonly kind: 'refused';
      readonly status: number;
      readonly reason: string;
      readonly target?: AuditTarget;
    };

export function createPodProxy(deps: {
  config: SvcProxyConfig;
  directory: TargetSource;
  codec: SessionCodec;
  logger: Logger;
  registry: Registry;
}): PodProxy {
  const { config, directory, codec, logger } = deps;
  // undici rather than node:http for the pod side: its dispatcher costs a fraction of a
  // ClientRequest + IncomingMessage per request. Kept-alive connections (a TCP connection per
  // request would roughly double the cost), at most 64 per pod, one request at a time on each
  // (no pipelining: a slow profile must not hold up the requests queued behind it). Only the
  // upstream side is timed (PROXY_TIMEOUT_SECONDS, until the answer starts and between body
  // chunks): the client's socket stays open so the 504 can still be sent.
  const agent = new Agent({
    connections: 64,
    pipelining: 1,
    headersTimeout: config.proxyTimeoutMs,
    bodyTimeout: config.proxyTimeoutMs,
  });
  const sockets = new Set<Duplex>();
  const requests = new Counter({
    name: 'svc_proxy_requests_total',
    help: 'Requests under /proxy/, by outcome',
    labelNames: ['outcome'] as const,
    registers: [deps.registry],
  });
  // Proxied requests bypass the generic http_request_duration_seconds (see app.ts).
  const durations = new Histogram({
    name: 'svc_proxy_request_duration_seconds',
    help: 'Duration of requests under /proxy/ (WebSockets: of the connection), by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [deps.registry],
  });
  // Label children bound once: no label hashing per request.
  const metricsOf = new Map(
    OUTCOMES.map((outcome) => [
      outcome,
      { count: requests.labels(outcome), duration: durations.labels(outcome) },
    ]),
  );
  const audit = auditLogger(logger);
  const publicOrigin = config.publicUrl.origin;
  const sessionCookieName = config.session.cookieName;
  const sandbox = !config.insecurePodScripts;

  const record = (entry: AuditRecord) => {
    const metrics = metricsOf.get(entry.outcome);
    metrics?.count.inc();
    metrics?.duration.observe(entry.durationMs / 1000);
    audit.info(entry, 'proxy request');
  };

  /** Resolves a raw URL to a known pod, or says why not (status + reason). */
  function resolve(rawUrl: string): Resolved {
    const route = parseProxyPath(rawUrl);
    if (route.kind === 'invalid')
      return { kind: 'refused', status: route.status, reason: route.reason };
    if (route.kind === 'add-slash') return { kind: 'redirect', location: route.location };
    const target = directory.find(route.namespace, route.service, route.pod);
    if (!target) {
      return {
        kind: 'refused',
        status: 404,
        reason: `no ready pod ${route.pod} behind annotated service ${route.namespace}/${route.service}`,
        target: { namespace: route.namespace, service: route.service, pod: route.pod },
      };
    }
    return { kind: 'ok', target, prefix: route.prefix, upstreamPath: route.upstreamPath };
  }

  function exchangeFor(
    path: string,
    method: string,
    user: SessionUser,
    resolved: Extract<Resolved, { kind: 'ok' }>,
  ): Exchange {
    const policy: ResponsePolicy = {
      prefix: resolved.prefix,
      upstreamHost: hostFor(resolved.target),
      publicOrigin,
      sessionCookieName,
      sandbox,
    };
    return { user, target: resolved.target, policy, started: Date.now(), path, method };
  }

  /** The headers the pod receives: the allow-list, then our identity and forwarding headers. */
  function headersFor(
    req: IncomingMessage,
    exchange: Exchange,
    websocket: boolean,
  ): OutgoingHttpHeaders {
    const { user, policy } = exchange;
    return upstreamHeaders(req.headers, {
      identity: { user: user.subject || user.email, email: user.email },
      sessionCookieName,
      upstreamHost: policy.upstreamHost,
      clientAddress: req.socket.remoteAddress,
      publicUrl: config.publicUrl,
      prefix: policy.prefix,
      websocket,
    });
  }

  /** The audit line of an exchange that got as far as the pod. */
  const finished = (
    e: Exchange,
    status: number,
    outcome: Outcome,
    durationMs: number,
  ): AuditRecord => ({
    email: e.user.email,
    sid: e.user.sid,
    method: e.method,
    path: e.path,
    target: auditTarget(e.target),
    upstream: e.policy.upstreamHost,
    status,
    outcome: e.failure ? e.failure.outcome : outcome,
    durationMs,
    ...(e.failure ? { reason: e.failure.reason } : {}),
  });

  /** Ends a request the proxy itself failed on: 502, logged with its stack, audited on close. */
  function internalFailure(
    res: ServerResponse,
    error: unknown,
    context: { path: string; exchange?: Exchange; user?: SessionUser; method?: string },
  ): void {
    logger.error(
      { err: errorMessage(error), stack: (error as Error)?.stack, path: context.path },
      'proxying failed inside svc-proxy',
    );
    const reason = `internal: ${errorMessage(error)}`.slice(0, 300);
    if (context.exchange) context.exchange.failure = { outcome: 'proxy-error', reason };
    else if (context.user)
      record({
        email: context.user.email,
        sid: context.user.sid,
        method: context.method ?? 'GET',
        path: context.path,
        status: 502,
        outcome: 'proxy-error',
        durationMs: 0,
        reason,
      });
    plainError(res, 502, 'svc-proxy failed to proxy this request; the details are in its logs');
  }

  const relayDeps: RelayDeps = {
    logger,
    maxRewriteBytes: config.maxRewriteBytes,
    proxyTimeoutMs: config.proxyTimeoutMs,
    internalFailure: (res, error, exchange) =>
      internalFailure(res, error, { path: exchange.path, exchange }),
  };

  /**
   * Sends the request to the pod on a kept-alive connection; the Relay streams (or rewrites)
   * the answer back. One 'close' listener per request audits it however it ended, and stops
   * the upstream request when the operator left first (a tab closed during a 30-second profile).
   */
  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    exchange: Exchange,
    upstreamPath: string,
  ): void {
    const relay = new Relay(relayDeps, res, exchange);
    res.once('close', () => {
      const completed = res.writableFinished;
      if (!completed) relay.cancel();
      record(
        finished(
          exchange,
          res.statusCode,
          completed ? 'proxied' : 'client-aborted',
          Date.now() - exchange.started,
        ),
      );
    });
    const headers = headersFor(req, exchange, false);
    let body: PassThrough | null = null;
    if (
      req.headers['content-length'] !== undefined ||
      req.headers['transfer-encoding'] !== undefined
    ) {
      // Through a PassThrough: undici destroys a failed request's body stream, and destroying
      // `req` itself would close the client's socket before the 502 is written.
      body = new PassThrough();
      req.on('error', () => body?.destroy());
      req.pipe(body);
    }
    agent.dispatch(
      {
        origin: `http://${exchange.policy.upstreamHost}`,
        path: upstreamPath,
        method: exchange.method,
        headers: headers as Record<string, string | string[]>,
        body,
      },
      relay,
    );
  }

  function handle(req: IncomingMessage, res: ServerResponse, user: SessionUser): void {
    const path = req.url ?? '';
    const method = req.method ?? 'GET';
    const resolved = resolve(path);
    if (resolved.kind === 'redirect') {
      res.writeHead(301, { location: resolved.location });
      res.end();
      return;
    }
    if (resolved.kind === 'refused') {
      logger.warn({ path: path.slice(0, 300), reason: resolved.reason }, 'proxy request refused');
      record({
        email: user.email,
        sid: user.sid,
        method,
        path,
        ...(resolved.target ? { target: resolved.target } : {}),
        status: resolved.status,
        outcome: 'refused',
        durationMs: 0,
        reason: resolved.reason,
      });
      plainError(res, resolved.status, `svc-proxy: ${resolved.reason}`);
      return;
    }
    if (startedElsewhere(req.headers) && isExpensiveProfile(resolved.upstreamPath)) {
      const reason = `Sec-Fetch-Site: ${String(req.headers['sec-fetch-site'])} for an expensive endpoint; confirmation page shown`;
      record({
        email: user.email,
        sid: user.sid,
        method,
        path,
        target: auditTarget(resolved.target),
        status: 403,
        outcome: 'refused',
        durationMs: 0,
        reason,
      });
      crossSiteProfilePage(res, path);
      return;
    }
    const exchange = exchangeFor(path, method, user, resolved);
    try {
      forward(req, res, exchange, resolved.upstreamPath);
    } catch (error) {
      internalFailure(res, error, { path, exchange });
    }
  }

  function upgradeSignedIn(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    user: SessionUser,
    started: number,
  ): void {
    const url = req.url ?? '';
    const resolved = resolve(url);
    const isWebSocket = req.headers.upgrade?.toLowerCase() === 'websocket';
    if (resolved.kind !== 'ok' || !isWebSocket) {
      const status = resolved.kind === 'refused' ? resolved.status : 400;
      const reason =
        resolved.kind === 'refused'
          ? resolved.reason
          : !isWebSocket
            ? 'only WebSocket upgrades are proxied'
            : 'WebSocket URL needs a path below the pod';
      record({
        email: user.email,
        sid: user.sid,
        method: 'GET',
        path: url,
        status,
        outcome: 'refused',
        durationMs: 0,
        reason,
      });
      rejectUpgrade(
        socket,
        status,
        status === 404 ? 'Not Found' : 'Bad Request',
        `svc-proxy: ${reason}`,
      );
      return;
    }
    const exchange = exchangeFor(url, 'GET', user, resolved);
    const headers = headersFor(req, exchange, true);
    let status = 502;
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      record(
        finished(exchange, status, status === 101 ? 'websocket' : 'proxied', Date.now() - started),
      );
    });
    tunnel(socket, head, {
      host: resolved.target.ip,
      port: resolved.target.port,
      path: resolved.upstreamPath,
      headers,
      handshakeTimeoutMs: config.proxyTimeoutMs,
      filter: (answer) => downstreamHeaders(answer, exchange.policy),
      onOutcome: (outcome) => {
        if (outcome.kind === 'failed' || outcome.kind === 'internal') {
          exchange.failure = {
            outcome: outcome.kind === 'internal' ? 'proxy-error' : 'upstream-error',
            reason: outcome.reason,
          };
          return;
        }
        status = outcome.status;
        if (outcome.kind === 'refused')
          exchange.failure = { outcome: 'upstream-error', reason: outcome.reason };
      },
    });
  }

  function upgradeFailed(socket: Duplex, error: unknown, path: string, user?: SessionUser): void {
    logger.error(
      { err: errorMessage(error), stack: (error as Error)?.stack, path },
      'WebSocket proxying failed inside svc-proxy',
    );
    if (user)
      record({
        email: user.email,
        sid: user.sid,
        method: 'GET',
        path,
        status: 502,
        outcome: 'proxy-error',
        durationMs: 0,
        reason: `internal: ${errorMessage(error)}`.slice(0, 300),
      });
    rejectUpgrade(
      socket,
      502,
      'Bad Gateway',
      'svc-proxy failed to proxy this WebSocket; the details are in its logs',
    );
  }

  return {
    handle(req, res, user) {
      // The error boundary of every proxied request: whatever throws ends this request with a
      // 502 and an audit line; the process keeps serving everyone else. (Once the exchange
      // exists, handle() catches for itself so the audit line carries the pod.)
      try {
        handle(req, res, user);
      } catch (error) {
        internalFailure(res, error, { path: req.url ?? '', user, method: req.method ?? 'GET' });
      }
    },

    upgrade(req, socket, head) {
      const started = Date.now();
      const path = req.url ?? '';
      socket.on('error', () => socket.destroy());
      try {
        if (!path.startsWith('/proxy/')) {
          rejectUpgrade(
            socket,
            404,
            'Not Found',
            'svc-proxy: WebSockets are only proxied under /proxy/',
          );
          return;
        }
        const origin = req.headers.origin;
        if (origin !== undefined && origin !== publicOrigin) {
          logger.warn({ origin, path }, 'cross-origin WebSocket refused');
          rejectUpgrade(socket, 403, 'Forbidden', 'svc-proxy: cross-origin WebSocket refused');
          return;
        }
      } catch (error) {
        upgradeFailed(socket, error, path);
        return;
      }
      codec
        .read(req.headers.cookie)
        .then(
          (data) => {
            const user = codec.currentUser(data);
            if (!user || !stillAllowed(user, config.access)) {
              rejectUpgrade(socket, 401, 'Unauthorized', 'svc-proxy: sign in first');
              return;
            }
            try {
              upgradeSignedIn(req, socket, head, user, started);
            } catch (error) {
              upgradeFailed(socket, error, path, user);
            }
          },
          () => rejectUpgrade(socket, 401, 'Unauthorized', 'svc-proxy: sign in first'),
        )
        .catch((error: unknown) => upgradeFailed(socket, error, path));
    },

    close() {
      for (const socket of sockets) socket.destroy();
      void agent.destroy();
    },
  };
}
