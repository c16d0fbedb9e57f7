import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { withoutCookie } from '../auth/session';

/**
 * The only client request headers a pod receives (besides the ones the proxy sets itself). An
 * allow-list rather than a deny-list: identity claims come in endless spellings (`X-Auth-User`,
 * `X-WEBAUTH-EMAIL`, `Client-IP`, `X-Goog-IAP-JWT-Assertion`, …) and a pod, or a proxy in front
 * of it, may trust any of them. Everything a Go debug page, a profile download or a form post
 * needs is here: content negotiation, conditional and range requests, the request body's type
 * and length, and the pod's own cookies.
 */
const FORWARDED = new Set([
  'accept',
  'accept-language',
  'cache-control',
  'pragma',
  'content-type',
  'content-length',
  'content-language',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'if-range',
  'range',
  'user-agent',
  'origin',
]);

/** Added for a WebSocket handshake only (RFC 6455 §4.1); Upgrade/Connection are set by us. */
const FORWARDED_WEBSOCKET = new Set([
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
]);

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1, plus the legacy Proxy-Connection): meaningful for one
 * connection only, never forwarded, and `Trailer` in particular makes Node's ClientRequest throw
 * ERR_HTTP_TRAILER_INVALID at the end of an unchunked request.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const NOTHING: ReadonlySet<string> = new Set();
const CLOSE: ReadonlySet<string> = new Set(['close']);

/** The header names a `Connection` header lists: hop-by-hop too, so they are dropped as well. */
export function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> {
  // Nearly every request and answer, without a Set each: `keep-alive` names a header that is
  // hop-by-hop anyway, `close` a name no header should have.
  if (value === undefined || value === 'keep-alive') return NOTHING;
  if (value === 'close') return CLOSE;
  const out = new Set<string>();
  for (const part of Array.isArray(value) ? value : [value])
    for (const token of part.split(',')) {
      const name = token.trim().toLowerCase();
      if (name) out.add(name);
    }
  return out;
}

/**
 * Makes any string safe and unambiguous as a header value: UTF-8 percent-encoding (RFC 3986
 * §2.1, the same octet encoding RFC 8187 uses for parameters) of every byte outside visible
 * ASCII and of `%` itself. A plain ASCII address such as `alice@example.com` is unchanged;
 * `δ@example.com` becomes `%CE%B4@example.com`; a pod recovers the exact value with
 * `decodeURIComponent` (JavaScript) or `url.PathUnescape` (Go). Node refuses header values with
 * characters above U+00FF (ERR_INVALID_CHAR), and bytes 0x80–0xFF would be read as Latin-1.
 */
export function encodeHeaderValue(value: string): string {
  // Fast path: visible ASCII without '%' (every allow-listed ASCII address) needs nothing.
  if (/^[\x20-\x24\x26-\x7e]*$/.test(value)) return value;
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export interface ForwardedIdentity {
  readonly user: string;
  readonly email: string;
}

export interface UpstreamContext {
  readonly identity: ForwardedIdentity;
  readonly sessionCookieName: string;
  /** Host header for the pod: its own address, as `kubectl proxy` sends. */
  readonly upstreamHost: string;
  readonly clientAddress: string | undefined;
  readonly publicUrl: URL;
  readonly prefix: string;
  /** A WebSocket handshake: its Sec-WebSocket-* headers are forwarded and Upgrade is set. */
  readonly websocket?: boolean;
}

/**
 * The headers a pod receives: the allow-listed client headers (minus any the client's
 * `Connection` names, and minus our session cookie), then the identity and forwarding headers
 * the proxy sets itself.
 */
export function upstreamHeaders(
  incoming: IncomingHttpHeaders,
  ctx: UpstreamContext,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const named = connectionTokens(incoming.connection);
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || named.has(name)) continue;
    if (FORWARDED.has(name) || (ctx.websocket === true && FORWARDED_WEBSOCKET.has(name)))
      out[name] = value;
  }
  // A body that came chunked (Node has removed the framing) is re-chunked by the upstream
  // client itself, which sends any stream body without a Content-Length that way.
  if (!named.has('cookie')) {
    const cookie = withoutCookie(incoming.cookie, ctx.sessionCookieName);
    if (cookie !== undefined) out['cookie'] = cookie;
  }
  if (ctx.websocket) {
    out['connection'] = 'Upgrade';
    out['upgrade'] = 'websocket';
  }
  out['host'] = ctx.upstreamHost;
  // HTML is rewritten on the way through; compressed bodies would have to be inflated first.
  out['accept-encoding'] = 'identity';
  out['x-forwarded-user'] = encodeHeaderValue(ctx.identity.user);
  out['x-forwarded-email'] = encodeHeaderValue(ctx.identity.email);
  out['x-forwarded-proto'] = ctx.publicUrl.protocol === 'https:' ? 'https' : 'http';
  out['x-forwarded-host'] = ctx.publicUrl.host;
  out['x-forwarded-prefix'] = ctx.prefix;
  if (ctx.clientAddress) out['x-forwarded-for'] = ctx.clientAddress;
  return out;
}
