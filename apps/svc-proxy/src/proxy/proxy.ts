import {
  Agent,
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { Duplex } from 'node:stream';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { stillAllowed } from '../auth/gate';
import type { SessionCodec, SessionUser } from '../auth/session';
import type { SvcProxyConfig } from '../config';
import type { TargetSource } from '../discovery/source';
import type { Target } from '../discovery/targets';
import { isExpensiveProfile, startedElsewhere } from '../web/fetch-site';
import { crossSiteProfilePage } from '../web/pages';
import { audit, type AuditRecord } from './audit';
import { upstreamHeaders } from './headers';
import { downstreamHeaders, type ResponsePolicy } from './response-headers';
import { htmlRewriter, rewriteHtml, yieldingSlices } from './rewrite';
import { parseProxyPath } from './route';
import { rejectUpgrade, tunnel } from './websocket';

export { POD_SANDBOX_CSP } from './response-headers';

/** Everything known about one proxied request, kept from dispatch until it completes. */
interface Exchange {
  readonly user: SessionUser;
  readonly target: Target;
  readonly policy: ResponsePolicy;
  readonly started: number;
  readonly path: string;
  /** Set when the request failed, so the audit line says why and whose fault it was. */
  failure?: { readonly outcome: 'upstream-error' | 'proxy-error'; readonly reason: string };
}

const hostFor = (t: Target): string =>
  t.ip.includes(':') ? `[${t.ip}]:${t.port}` : `${t.ip}:${t.port}`;

function isHtml(contentType: string | undefined): boolean {
  return !!contentType && /^\s*text\/html\b/i.test(contentType);
}

const errorMessage = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** Characters of a streamed HTML page tokenized in one go before other work gets a turn. */
const REWRITE_SLICE_CHARS = 16 * 1024;

function plainError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(`${message}\n`);
}

export interface PodProxy {
  /** For requests already authenticated by requireUser. */
  handle(req: Request, res: Response, user: SessionUser): void;
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
      readonly namespace?: string;
      readonly service?: string;
      readonly pod?: string;
    };

export function createPodProxy(deps: {
  config: SvcProxyConfig;
  directory: TargetSource;
  codec: SessionCodec;
  logger: Logger;
  registry: Registry;
}): PodProxy {
  const { config, directory, codec, logger } = deps;
  // Keep-alive connections to pods: a TCP connection per request would roughly double the
  // proxy's cost per request.
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 64,
    maxFreeSockets: 16,
    timeout: config.proxyTimeoutMs,
    scheduling: 'lifo',
  });
  const exchanges = new WeakMap<IncomingMessage, Exchange>();
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
  const publicOrigin = config.publicUrl.origin;

  const record = (entry: AuditRecord) => {
    requests.inc({ outcome: entry.outcome });
    durations.observe({ outcome: entry.outcome }, entry.durationMs / 1000);
    audit(logger, entry);
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
        namespace: route.namespace,
        service: route.service,
        pod: route.pod,
      };
    }
    return { kind: 'ok', target, prefix: route.prefix, upstreamPath: route.upstreamPath };
  }

  function prepare(
    req: IncomingMessage,
    path: string,
    user: SessionUser,
    resolved: Extract<Resolved, { kind: 'ok' }>,
    websocket: boolean,
  ): Exchange {
    const { target, prefix, upstreamPath } = resolved;
    const upstreamHost = hostFor(target);
    const exchange: Exchange = {
      user,
      target,
      policy: {
        prefix,
        upstreamHost,
        publicOrigin,
        sessionCookieName: config.session.cookieName,
        sandbox: !config.insecurePodScripts,
      },
      started: Date.now(),
      path,
    };
    // Node accepts the incoming headers object as OutgoingHttpHeaders as it is.
    req.headers = upstreamHeaders(req.headers, {
      identity: { user: user.subject || user.email, email: user.email },
      sessionCookieName: config.session.cookieName,
      upstreamHost,
      clientAddress: req.socket.remoteAddress,
      publicUrl: config.publicUrl,
      prefix,
      websocket,
    }) as IncomingHttpHeaders;
    req.url = upstreamPath;
    exchanges.set(req, exchange);
    return exchange;
  }

  const base = (e: Exchange, method: string) => ({
    email: e.user.email,
    sid: e.user.sid,
    method,
    path: e.path,
    namespace: e.target.namespace,
    service: e.target.service,
    pod: e.target.pod,
    upstream: hostFor(e.target),
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

  function relayHtml(
    proxyRes: IncomingMessage,
    res: ServerResponse,
    status: number,
    headers: OutgoingHttpHeaders,
    exchange: Exchange,
  ): void {
    // Small pages are rewritten in one piece (with a Content-Length); once a page outgrows
    // MAX_REWRITE_BYTES it is rewritten as it streams, chunk by chunk, so a huge page neither
    // sits in memory nor holds the event loop while it is parsed.
    // These run in stream callbacks, outside any request handler: a throw must end this
    // request only, not the process.
    const guarded =
      <A extends unknown[]>(fn: (...args: A) => void) =>
      (...args: A): void => {
        try {
          fn(...args);
        } catch (error) {
          proxyRes.destroy();
          internalFailure(res, error, { path: exchange.path, exchange });
        }
      };
    proxyRes.setEncoding('utf8');
    const chunks: string[] = [];
    let size = 0;
    const onData = guarded((chunk: string) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > config.maxRewriteBytes) stream();
    });
    const onEnd = guarded(() => {
      const body = chunks.join('');
      rewriteHtml(body, exchange.policy).then(
        guarded((rewritten: string) => {
          delete headers['content-length'];
          res.writeHead(status, {
            ...headers,
            'content-length': String(Buffer.byteLength(rewritten)),
          });
          res.end(rewritten);
        }),
        (error: unknown) => {
          logger.error({ err: errorMessage(error), path: exchange.path }, 'HTML rewrite failed');
          plainError(res, 502, 'svc-proxy could not rewrite the HTML page returned by the pod');
        },
      );
    });
    const stream = () => {
      proxyRes.off('data', onData);
      proxyRes.off('end', onEnd);
      delete headers['content-length'];
      res.writeHead(status, headers);
      const rewriter = htmlRewriter(exchange.policy);
      rewriter.on('error', (error: unknown) => {
        logger.error({ err: errorMessage(error), path: exchange.path }, 'HTML rewrite failed');
        res.destroy();
      });
      const slices = yieldingSlices(REWRITE_SLICE_CHARS);
      slices.pipe(rewriter).pipe(res);
      slices.write(chunks.join(''));
      chunks.length = 0;
      proxyRes.pipe(slices);
    };
    proxyRes.on('data', onData);
    proxyRes.on('end', onEnd);
  }

  function onUpstreamResponse(
    proxyRes: IncomingMessage,
    req: IncomingMessage,
    res: ServerResponse,
    exchange: Exchange,
  ): void {
    // Runs in the upstream request's callback, outside any request handler: anything thrown
    // here would otherwise take the process down.
    try {
      proxyRes.on('error', () => res.destroy());
      // The operator left before the answer was complete: stop reading (and rewriting) it.
      res.once('close', () => {
        if (!res.writableFinished) proxyRes.destroy();
      });
      const status = proxyRes.statusCode ?? 502;
      const filtered = downstreamHeaders(proxyRes.headers, exchange.policy);
      if (filtered.kind === 'off-origin-redirect') {
        proxyRes.resume();
        exchange.failure = {
          outcome: 'upstream-error',
          reason: `redirect off this origin refused: ${filtered.location.slice(0, 200)}`,
        };
        plainError(
          res,
          502,
          `svc-proxy: the pod redirected to ${filtered.location.slice(0, 200)}, which is not on this proxy; the redirect was not followed`,
        );
        return;
      }
      const headers = filtered.headers;
      const encoded = (proxyRes.headers['content-encoding'] ?? 'identity') !== 'identity';
      if (!isHtml(proxyRes.headers['content-type']) || encoded || req.method === 'HEAD') {
        res.writeHead(status, filtered.headers);
        proxyRes.pipe(res);
        return;
      }
      relayHtml(proxyRes, res, status, headers, exchange);
    } catch (error) {
      proxyRes.resume();
      internalFailure(res, error, { path: exchange.path, exchange });
    }
  }

  function onUpstreamError(
    error: NodeJS.ErrnoException,
    res: ServerResponse,
    exchange: Exchange,
    timedOut: boolean,
  ): void {
    const status = timedOut ? 504 : 502;
    const where = `${exchange.target.namespace}/${exchange.target.service}/${exchange.target.pod} (${hostFor(exchange.target)})`;
    const reason = timedOut ? 'timeout' : (error.code ?? error.message);
    const message = timedOut
      ? `svc-proxy: ${where} did not answer within ${config.proxyTimeoutMs / 1000}s (PROXY_TIMEOUT_SECONDS)`
      : `svc-proxy: cannot reach ${where}: ${reason}`;
    exchange.failure ??= { outcome: 'upstream-error', reason };
    plainError(res, status, message);
  }

  /**
   * Sends the prepared request to the pod on a kept-alive connection and relays the answer.
   * Only the upstream side is timed (PROXY_TIMEOUT_SECONDS): the client's socket stays open so
   * the 504 can still be sent.
   */
  function forward(req: IncomingMessage, res: ServerResponse, exchange: Exchange): void {
    let timedOut = false;
    const upstream = request({
      host: exchange.target.ip,
      port: exchange.target.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent,
    });
    upstream.setTimeout(config.proxyTimeoutMs, () => {
      timedOut = true;
      upstream.destroy(new Error('timeout'));
    });
    upstream.on('response', (proxyRes: IncomingMessage) =>
      onUpstreamResponse(proxyRes, req, res, exchange),
    );
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (res.writableEnded) return;
      if (res.headersSent) res.destroy();
      else onUpstreamError(error, res, exchange, timedOut);
    });
    // The operator left (a tab closed during a 30-second profile): stop asking the pod.
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    const hasBody =
      req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) {
      // Nearly every debug-page request: nothing to stream, so no pipe to set up.
      upstream.end();
      return;
    }
    req.on('error', () => upstream.destroy());
    req.pipe(upstream);
  }

  function handle(req: Request, res: Response, user: SessionUser): void {
    const path = req.originalUrl;
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
        method: req.method,
        path,
        ...(resolved.namespace
          ? { namespace: resolved.namespace, service: resolved.service, pod: resolved.pod }
          : {}),
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
        method: req.method,
        path,
        namespace: resolved.target.namespace,
        service: resolved.target.service,
        pod: resolved.target.pod,
        status: 403,
        outcome: 'refused',
        durationMs: 0,
        reason,
      });
      crossSiteProfilePage(res, path);
      return;
    }
    const exchange = prepare(req, path, user, resolved, false);
    // One audit line per request however it ends, including an operator closing the tab
    // during a 30-second profile (no upstream response ever arrives then).
    res.once('close', () => {
      record({
        ...base(exchange, req.method),
        status: res.statusCode,
        outcome: exchange.failure
          ? exchange.failure.outcome
          : res.writableFinished
            ? 'proxied'
            : 'client-aborted',
        durationMs: Date.now() - exchange.started,
        ...(exchange.failure ? { reason: exchange.failure.reason } : {}),
      });
    });
    try {
      forward(req, res, exchange);
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
    const exchange = prepare(req, url, user, resolved, true);
    let status = 502;
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      record({
        ...base(exchange, 'GET'),
        status,
        outcome: exchange.failure
          ? exchange.failure.outcome
          : status === 101
            ? 'websocket'
            : 'proxied',
        durationMs: Date.now() - started,
        ...(exchange.failure ? { reason: exchange.failure.reason } : {}),
      });
    });
    tunnel(socket, head, {
      host: resolved.target.ip,
      port: resolved.target.port,
      path: resolved.upstreamPath,
      headers: req.headers,
      handshakeTimeoutMs: config.proxyTimeoutMs,
      filter: (headers) => downstreamHeaders(headers, exchange.policy),
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
      // 502 and an audit line; the process keeps serving everyone else.
      try {
        handle(req, res, user);
      } catch (error) {
        internalFailure(res, error, {
          path: req.originalUrl,
          user,
          method: req.method,
          ...(exchanges.has(req) ? { exchange: exchanges.get(req) } : {}),
        });
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
      agent.destroy();
    },
  };
}
