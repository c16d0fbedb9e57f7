import type { IncomingHttpHeaders } from 'node:http';
import { withoutCookie } from '../auth/session';

/**
 * Headers that carry identity or client-address claims. A client could set any of them to
 * impersonate someone to the pod, so every incoming copy is dropped before the proxy adds its own.
 * Names are compared after lower-casing and mapping "_" to "-": some servers (and CGI-style
 * frameworks) treat `X-Forwarded_Email` as `X-Forwarded-Email`.
 */
const EXACT = new Set([
  'authorization',
  'proxy-authorization',
  'forwarded',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'x-user',
  'x-email',
  'x-user-email',
  'remote-user',
  'x-remote-user',
  'x-webauth-user',
  'x-access-token',
  'x-id-token',
  'x-original-url',
  'x-rewrite-url',
]);
const PREFIXES = [
  'x-forwarded-',
  'x-auth-request-',
  'x-remote-',
  'impersonate-',
  'x-goog-authenticated-',
  'x-amzn-oidc-',
  'x-ms-client-principal',
];

export const normaliseHeaderName = (name: string): string => name.toLowerCase().replace(/_/g, '-');

export function isIdentityHeader(name: string): boolean {
  const n = normaliseHeaderName(name);
  return EXACT.has(n) || PREFIXES.some((p) => n.startsWith(p));
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
}

/** The headers a pod receives: the client's minus identity claims and our cookie, plus ours. */
export function upstreamHeaders(
  incoming: IncomingHttpHeaders,
  ctx: UpstreamContext,
): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || isIdentityHeader(name)) continue;
    out[name] = value;
  }
  const cookie = withoutCookie(incoming.cookie, ctx.sessionCookieName);
  if (cookie === undefined) delete out.cookie;
  else out.cookie = cookie;
  out.host = ctx.upstreamHost;
  // HTML is rewritten in memory; compressed bodies would have to be inflated first.
  out['accept-encoding'] = 'identity';
  out['x-forwarded-user'] = ctx.identity.user;
  out['x-forwarded-email'] = ctx.identity.email;
  out['x-forwarded-proto'] = ctx.publicUrl.protocol.replace(':', '');
  out['x-forwarded-host'] = ctx.publicUrl.host;
  out['x-forwarded-prefix'] = ctx.prefix;
  if (ctx.clientAddress) out['x-forwarded-for'] = ctx.clientAddress;
  return out;
}
