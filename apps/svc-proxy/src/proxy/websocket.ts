import { request, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ResponseHeaders } from './response-headers';

/** How a tunnelled handshake ended, for the audit line. */
export type TunnelOutcome =
  | { readonly kind: 'open'; readonly status: 101 }
  | { readonly kind: 'answered'; readonly status: number }
  | { readonly kind: 'refused'; readonly status: number; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string }
  /** svc-proxy itself failed while handling the pod's answer. */
  | { readonly kind: 'internal'; readonly reason: string };

export interface TunnelOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
  /** Until the pod answers the handshake. */
  readonly handshakeTimeoutMs: number;
  /** The response-header policy, the same one HTTP answers go through. */
  readonly filter: (headers: IncomingMessage['headers']) => ResponseHeaders;
  /** Called once, when the handshake has an outcome. */
  readonly onOutcome: (outcome: TunnelOutcome) => void;
}

/** Serialises a status line and headers for a raw socket (values already passed Node's checks). */
export function responseHead(status: number, text: string, headers: OutgoingHttpHeaders): string {
  let head = `HTTP/1.1 ${status} ${text}\r\n`;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
  }
  return `${head}\r\n`;
}

export function rejectUpgrade(socket: Duplex, status: number, text: string, message: string): void {
  if (socket.destroyed) return;
  socket.end(
    responseHead(status, text, {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'close',
      'content-length': Buffer.byteLength(message) + 1,
    }) + `${message}\n`,
  );
}

/**
 * Tunnels one WebSocket handshake to a pod. Written out instead of using http-proxy's `ws()`
 * because that relays every upstream header verbatim (on 101 and on any other answer), so a pod
 * could set the proxy's session cookie or any origin-wide header through a handshake; here the
 * answer goes through the same response-header policy as HTTP before a byte reaches the client.
 */
export function tunnel(client: Duplex, head: Buffer, options: TunnelOptions): () => void {
  let settled = false;
  const settle = (outcome: TunnelOutcome) => {
    if (settled) return;
    settled = true;
    options.onOutcome(outcome);
  };
  const upstream = request({
    host: options.host,
    port: options.port,
    path: options.path,
    method: 'GET',
    headers: options.headers,
    agent: false,
  });
  upstream.setTimeout(options.handshakeTimeoutMs, () =>
    upstream.destroy(new Error(`no handshake answer within ${options.handshakeTimeoutMs} ms`)),
  );
  upstream.on('error', (error: NodeJS.ErrnoException) => {
    if (!settled) {
      const reason = error.code ?? error.message;
      settle({ kind: 'failed', reason });
      rejectUpgrade(
        client,
        502,
        'Bad Gateway',
        `svc-proxy: the pod did not accept the WebSocket: ${reason}`,
      );
    } else client.destroy();
  });
  client.on('close', () => upstream.destroy());

  const refuseOffOrigin = (location: string) => {
    const reason = `the pod redirected the WebSocket off this origin (${location.slice(0, 200)})`;
    settle({ kind: 'refused', status: 502, reason });
    rejectUpgrade(client, 502, 'Bad Gateway', `svc-proxy: ${reason}`);
  };

  /** These run in socket callbacks, outside any request handler: a throw ends this tunnel only. */
  const guarded =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A): void => {
      try {
        fn(...args);
      } catch (error) {
        upstream.destroy();
        const reason = `internal: ${error instanceof Error ? error.message : String(error)}`;
        if (!settled) {
          settle({ kind: 'internal', reason });
          rejectUpgrade(client, 502, 'Bad Gateway', 'svc-proxy failed to proxy this WebSocket');
        } else client.destroy();
      }
    };

  upstream.on(
    'upgrade',
    guarded((res: IncomingMessage, podSocket: Socket, podHead: Buffer) => {
      upstream.setTimeout(0);
      const filtered = options.filter(res.headers);
      if (filtered.kind !== 'ok') {
        podSocket.destroy();
        refuseOffOrigin(filtered.location);
        return;
      }
      const headers = { ...filtered.headers, connection: 'Upgrade', upgrade: 'websocket' };
      podSocket.on('error', () => client.destroy());
      podSocket.on('close', () => client.destroy());
      client.on('close', () => podSocket.destroy());
      podSocket.setNoDelay(true);
      podSocket.setTimeout(0);
      client.write(responseHead(101, 'Switching Protocols', headers));
      if (podHead.length > 0) client.write(podHead);
      if (head.length > 0) podSocket.write(head);
      podSocket.pipe(client);
      client.pipe(podSocket);
      settle({ kind: 'open', status: 101 });
    }),
  );

  upstream.on(
    'response',
    guarded((res: IncomingMessage) => {
      upstream.setTimeout(0);
      const status = res.statusCode ?? 502;
      const filtered = options.filter(res.headers);
      if (filtered.kind !== 'ok') {
        res.resume();
        refuseOffOrigin(filtered.location);
        return;
      }
      settle({ kind: 'answered', status });
      // The pod declined the upgrade: relay its (filtered) answer, then close the connection.
      client.write(
        responseHead(status, res.statusMessage ?? '', { ...filtered.headers, connection: 'close' }),
      );
      res.on('error', () => client.destroy());
      res.pipe(client);
    }),
  );
  upstream.end();
  return () => upstream.destroy();
}
