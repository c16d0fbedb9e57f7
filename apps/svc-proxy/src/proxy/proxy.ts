import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { stillAllowed } from '../auth/gate';
import type { SessionCodec, SessionUser } from '../auth/session';
import type { SvcProxyConfig } from '../config';
import type { TargetSource } from '../discovery/source';
import type { Target } from '../discovery/targets';
import { audit, type AuditRecord } from './audit';
import { upstreamHeaders } from './headers';
import { rewriteHtml, rewriteLocation, type RewriteContext } from './rewrite';
import { parseProxyPath } from './route';

/** Everything known about one proxied request, kept from dispatch until it completes. */
interface Exchange {
  readonly user: SessionUser;
  readonly target: Target;
  readonly rewrite: RewriteContext;
  readonly started: number;
  readonly path: string;
  /** Set when the upstream failed, so the audit line says why. */
  failure?: { readonly reason: string };
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Applied to every proxied response (unless INSECURE_POD_SCRIPTS): the page becomes an opaque
 * origin without script, so a compromised pod cannot use the operator's session against other
 * pods or the proxy. Links, forms and downloads (profiles) keep working.
 */
export const POD_SANDBOX_CSP =
  'sandbox allow-forms allow-popups allow-downloads allow-top-navigation-by-user-activation';

const hostFor = (t: Target): string =>
  t.ip.includes(':') ? `[${t.ip}]:${t.port}` : `${t.ip}:${t.port}`;

function isHtml(contentType: string | undefined): boolean {
  return !!contentType && /^\s*text\/html\b/i.test(contentType);
}

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

function rejectUpgrade(socket: Duplex, status: number, text: string, message: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(message) + 1}\r\n\r\n${message}\n`,
  );
}

export interface PodProxy {
  /** For requests already authenticated by requireUser. */
  handle(
    req: IncomingMessage & { originalUrl?: string },
    res: ServerResponse,
    user: SessionUser,
  ): void;
  /** For HTTP upgrades, which bypass Express: authenticates from the cookie itself. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

export function createPodProxy(deps: {
  config: SvcProxyConfig;
  directory: TargetSource;
  codec: SessionCodec;
  logger: Logger;
  registry: Registry;
}): PodProxy {
  const { config, directory, codec, logger } = deps;
  // Without an agent http-proxy sends `Connection: close` and opens a TCP connection per request;
  // keep-alive to pods roughly halves the proxy's cost per request.
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 64,
    maxFreeSockets: 8,
    timeout: config.proxyTimeoutMs,
    scheduling: 'lifo',
  });
  const proxy = httpProxy.createProxyServer({
    agent,
    xfwd: false,
    changeOrigin: false,
    selfHandleResponse: true,
    // Only the upstream side is timed: http-proxy's `timeout` would time out the client's socket
    // at the same moment and cut it off before the 504 could be sent.
    proxyTimeout: config.proxyTimeoutMs,
    ws: true,
  });
  const exchanges = new WeakMap<IncomingMessage, Exchange>();
  const sockets = new Set<Duplex>();
  const requests = new Counter({
    name: 'svc_proxy_requests_total',
    help: 'Requests under /proxy/, by outcome',
    labelNames: ['outcome'] as const,
    registers: [deps.registry],
  });

  const record = (entry: AuditRecord) => {
    requests.inc({ outcome: entry.outcome });
    audit(logger, entry);
  };

  /** Resolves a raw URL to a known pod, or says why not (status + reason). */
  function resolve(rawUrl: string):
    | {
        kind: 'ok';
        target: Target;
        prefix: string;
        upstreamPath: string;
        namespace: string;
        service: string;
        pod: string;
      }
    | { kind: 'redirect'; location: string }
    | {
        kind: 'refused';
        status: number;
        reason: string;
        namespace?: string;
        service?: string;
        pod?: string;
      } {
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
    const { namespace, service, pod, prefix, upstreamPath } = route;
    return { kind: 'ok', target, namespace, service, pod, prefix, upstreamPath };
  }

  function prepare(
    req: IncomingMessage,
    user: SessionUser,
    target: Target,
    prefix: string,
    upstreamPath: string,
  ): Exchange {
    const exchange: Exchange = {
      user,
      target,
      rewrite: { prefix, upstreamHost: hostFor(target) },
      started: Date.now(),
      path: (req as { originalUrl?: string }).originalUrl ?? req.url ?? '',
    };
    req.headers = upstreamHeaders(req.headers, {
      identity: { user: user.subject || user.email, email: user.email },
      sessionCookieName: config.session.cookieName,
      upstreamHost: hostFor(target),
      clientAddress: req.socket.remoteAddress,
      publicUrl: config.publicUrl,
      prefix,
    });
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

  proxy.on('proxyRes', (proxyRes, req, res) => {
    const exchange = exchanges.get(req);
    if (!exchange) {
      res.destroy();
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(proxyRes.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      if (name === 'location' && typeof value === 'string')
        headers[name] = rewriteLocation(value, exchange.rewrite);
      else if (name === 'set-cookie' && Array.isArray(value)) {
        // A pod must not overwrite the proxy's own session cookie.
        const kept = value.filter((c) => c.split('=', 1)[0]?.trim() !== config.session.cookieName);
        if (kept.length > 0) headers[name] = kept;
      } else headers[name] = value;
    }
    if (!config.insecurePodScripts) {
      const theirs = headers['content-security-policy'];
      // A second CSP header only adds restrictions, so the pod's own policy still applies.
      headers['content-security-policy'] = [
        ...(theirs === undefined ? [] : Array.isArray(theirs) ? theirs : [theirs]),
        POD_SANDBOX_CSP,
      ];
      headers['x-content-type-options'] = 'nosniff';
    }
    const status = proxyRes.statusCode ?? 502;

    const encoded = (proxyRes.headers['content-encoding'] ?? 'identity') !== 'identity';
    if (!isHtml(proxyRes.headers['content-type']) || encoded || req.method === 'HEAD') {
      res.writeHead(status, headers);
      proxyRes.pipe(res);
      return;
    }
    // HTML: buffer (up to the limit), rewrite absolute links, send with the new length.
    const chunks: Buffer[] = [];
    let size = 0;
    let passthrough = false;
    proxyRes.on('data', (chunk: Buffer) => {
      if (passthrough) return;
      chunks.push(chunk);
      size += chunk.length;
      if (size > config.maxRewriteBytes) {
        passthrough = true;
        logger.warn(
          { path: exchange.path, limit: config.maxRewriteBytes },
          'HTML page too large to rewrite; passed through unchanged',
        );
        res.writeHead(status, headers);
        for (const c of chunks) res.write(c);
        chunks.length = 0;
        proxyRes.pipe(res);
      }
    });
    proxyRes.on('end', () => {
      if (passthrough) return;
      const body = Buffer.concat(chunks).toString('utf8');
      rewriteHtml(body, exchange.rewrite).then(
        (rewritten) => {
          const out = Buffer.from(rewritten, 'utf8');
          delete headers['content-length'];
          res.writeHead(status, { ...headers, 'content-length': String(out.length) });
          res.end(out);
        },
        (error: unknown) => {
          logger.error(
            { err: (error as Error).message, path: exchange.path },
            'HTML rewrite failed',
          );
          plainError(res, 502, 'svc-proxy could not rewrite the HTML page returned by the pod');
        },
      );
    });
    proxyRes.on('error', () => res.destroy());
  });

  proxy.on('error', (error: NodeJS.ErrnoException, req, resOrSocket) => {
    const exchange = exchanges.get(req);
    const elapsed = exchange ? Date.now() - exchange.started : 0;
    const timedOut = elapsed >= config.proxyTimeoutMs - 50;
    const status = timedOut ? 504 : 502;
    const where = exchange
      ? `${exchange.target.namespace}/${exchange.target.service}/${exchange.target.pod} (${hostFor(exchange.target)})`
      : 'the pod';
    const message = timedOut
      ? `svc-proxy: ${where} did not answer within ${config.proxyTimeoutMs / 1000}s (PROXY_TIMEOUT_SECONDS)`
      : `svc-proxy: cannot reach ${where}: ${error.code ?? error.message}`;
    if (exchange) exchange.failure = { reason: error.code ?? error.message };
    if ('writeHead' in resOrSocket) plainError(resOrSocket as ServerResponse, status, message);
    else (resOrSocket as Duplex).destroy();
  });

  return {
    handle(req, res, user) {
      const resolved = resolve(req.originalUrl ?? req.url ?? '');
      if (resolved.kind === 'redirect') {
        res.writeHead(301, { location: resolved.location });
        res.end();
        return;
      }
      if (resolved.kind === 'refused') {
        record({
          email: user.email,
          sid: user.sid,
          method: req.method ?? 'GET',
          path: req.originalUrl ?? req.url ?? '',
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
      const { target, prefix, upstreamPath } = resolved;
      const exchange = prepare(req, user, target, prefix, upstreamPath);
      // One audit line per request however it ends, including an operator closing the tab
      // during a 30-second profile (no upstream response ever arrives then).
      res.once('close', () => {
        record({
          ...base(exchange, req.method ?? 'GET'),
          status: res.statusCode,
          outcome: exchange.failure
            ? 'upstream-error'
            : res.writableFinished
              ? 'proxied'
              : 'client-aborted',
          durationMs: Date.now() - exchange.started,
          ...(exchange.failure ? { reason: exchange.failure.reason } : {}),
        });
      });
      proxy.web(req, res, { target: { protocol: 'http:', host: target.ip, port: target.port } });
    },

    upgrade(req, socket, head) {
      const started = Date.now();
      socket.on('error', () => socket.destroy());
      const url = req.url ?? '';
      if (!url.startsWith('/proxy/')) {
        rejectUpgrade(
          socket,
          404,
          'Not Found',
          'svc-proxy: WebSockets are only proxied under /proxy/',
        );
        return;
      }
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== config.publicUrl.origin) {
        logger.warn({ origin, path: url }, 'cross-origin WebSocket refused');
        rejectUpgrade(socket, 403, 'Forbidden', 'svc-proxy: cross-origin WebSocket refused');
        return;
      }
      codec.read(req.headers.cookie).then(
        (data) => {
          const user = codec.currentUser(data);
          if (!user || !stillAllowed(user, config.access)) {
            rejectUpgrade(socket, 401, 'Unauthorized', 'svc-proxy: sign in first');
            return;
          }
          const resolved = resolve(url);
          if (resolved.kind !== 'ok') {
            const status = resolved.kind === 'refused' ? resolved.status : 400;
            const reason =
              resolved.kind === 'refused'
                ? resolved.reason
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
          const exchange = prepare(
            req,
            user,
            resolved.target,
            resolved.prefix,
            resolved.upstreamPath,
          );
          sockets.add(socket);
          socket.on('close', () => {
            sockets.delete(socket);
            record({
              ...base(exchange, 'GET'),
              status: 101,
              outcome: 'websocket',
              durationMs: Date.now() - started,
            });
          });
          proxy.ws(req, socket, head, {
            target: { protocol: 'http:', host: resolved.target.ip, port: resolved.target.port },
          });
        },
        () => rejectUpgrade(socket, 401, 'Unauthorized', 'svc-proxy: sign in first'),
      );
    },

    close() {
      for (const socket of sockets) socket.destroy();
      proxy.close();
      agent.destroy();
    },
  };
}
