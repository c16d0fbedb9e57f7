import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { connectionTokens, HOP_BY_HOP } from './headers';
import {
  refreshTarget,
  rewriteRefresh,
  rewriteUrl,
  staysOnOrigin,
  type RewriteContext,
} from './rewrite';

/**
 * Applied to every proxied response (unless INSECURE_POD_SCRIPTS): the page becomes an opaque
 * origin without script, so a compromised pod cannot use the operator's session against other
 * pods or the proxy. Links, forms and downloads (profiles) keep working.
 */
export const POD_SANDBOX_CSP =
  'sandbox allow-forms allow-popups allow-downloads allow-top-navigation-by-user-activation';

/**
 * Headers that change how the browser treats the whole proxy origin rather than one pod's
 * answer: a service worker scope, wiping the origin's cookies and storage (signing the operator
 * out), CORS grants that would let other sites read pod pages with the operator's session,
 * HSTS and Alt-Svc. The proxy's origin is the proxy's to configure, never a pod's.
 */
const ORIGIN_WIDE = new Set([
  'service-worker-allowed',
  'clear-site-data',
  'strict-transport-security',
  'alt-svc',
  'timing-allow-origin',
]);

export interface ResponsePolicy extends RewriteContext {
  /** PUBLIC_URL's origin: every Location and Refresh (header or `<meta>`) must stay on it. */
  readonly publicOrigin: string;
  readonly sessionCookieName: string;
  /** Add the sandbox CSP and nosniff (false only with INSECURE_POD_SCRIPTS). */
  readonly sandbox: boolean;
}

export type ResponseHeaders =
  | { readonly kind: 'ok'; readonly headers: OutgoingHttpHeaders }
  /** The pod redirected off the proxy's origin: the answer is refused, not relayed. */
  | { readonly kind: 'off-origin-redirect'; readonly location: string };

const staysOn = (url: string, policy: ResponsePolicy): boolean =>
  staysOnOrigin(url, policy.publicOrigin, policy.prefix);

/**
 * A pod's Set-Cookie line, made harmless for the shared origin, or undefined to drop it:
 * nameless cookies and cookies named like the session cookie (also with the `__Host-` and
 * `__Secure-` prefixes) are dropped, `__Host-` cookies too (they must have `Path=/`), `Domain`
 * is removed and `Path` is moved under the pod's prefix, so a pod can neither read other pods'
 * cookies nor lock the operator out of the proxy with a cookie bomb.
 */
export function scopePodCookie(
  line: string,
  prefix: string,
  sessionCookie: string,
): string | undefined {
  const [pair = '', ...attributes] = line.split(';');
  const eq = pair.indexOf('=');
  const name = (eq === -1 ? '' : pair.slice(0, eq)).trim();
  if (!name) return undefined;
  const lower = name.toLowerCase();
  const ours = sessionCookie.toLowerCase();
  if (lower === ours || lower === `__secure-${ours}` || lower.startsWith('__host-'))
    return undefined;
  let path = '/';
  const kept: string[] = [];
  for (const attribute of attributes) {
    const trimmed = attribute.trim();
    const key = trimmed.split('=', 1)[0]?.trim().toLowerCase();
    if (!trimmed || key === 'domain') continue;
    if (key === 'path') {
      const value = trimmed.slice(trimmed.indexOf('=') + 1).trim();
      if (value.startsWith('/')) path = value;
      continue;
    }
    kept.push(trimmed);
  }
  const scoped = path.startsWith(`${prefix}/`) ? path : `${prefix}${path}`;
  return [pair.trim(), `Path=${scoped}`, ...kept].join('; ');
}

function privateCacheControl(value: string | undefined): string {
  if (value === undefined) return 'private'; // most debug pages say nothing about caching
  const kept = (value ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d && !/^(public|private|s-maxage\s*=.*|proxy-revalidate)$/i.test(d));
  return ['private', ...kept].join(', ');
}

function varyCookie(value: string | undefined): string {
  if (!value) return 'Cookie';
  const names = value.split(',').map((v) => v.trim().toLowerCase());
  return names.includes('*') || names.includes('cookie') ? value : `${value}, Cookie`;
}

/**
 * The one response-header policy for every answer a pod gives, over HTTP and over a WebSocket
 * handshake (101 or not): hop-by-hop headers and everything `Connection` names are dropped;
 * `Location` and `Refresh` are rewritten under the prefix and must stay on the proxy's origin;
 * pod cookies are scoped under the prefix; origin-wide and CORS headers are dropped; answers are
 * marked `Cache-Control: private` and `Vary: Cookie` (they depend on who is signed in); the
 * sandbox CSP is added.
 */
export function downstreamHeaders(
  upstream: IncomingHttpHeaders,
  policy: ResponsePolicy,
): ResponseHeaders {
  const out: OutgoingHttpHeaders = {};
  const named = connectionTokens(upstream.connection);
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    if (ORIGIN_WIDE.has(name) || name.startsWith('access-control-')) continue;
    switch (name) {
      case 'location': {
        const location = rewriteUrl(String(value), policy);
        if (!staysOn(location, policy)) return { kind: 'off-origin-redirect', location };
        out[name] = location;
        break;
      }
      case 'refresh': {
        const refresh = rewriteRefresh(String(value), policy);
        const target = refreshTarget(refresh);
        // A plain reload stays; a refresh elsewhere or one we cannot parse is dropped.
        if (target === undefined || (target !== null && staysOn(target.url, policy)))
          out[name] = refresh;
        break;
      }
      case 'set-cookie': {
        const kept: string[] = [];
        for (const line of Array.isArray(value) ? value : [value]) {
          const scoped = scopePodCookie(line, policy.prefix, policy.sessionCookieName);
          if (scoped !== undefined) kept.push(scoped);
        }
        if (kept.length > 0) out[name] = kept;
        break;
      }
      default:
        out[name] = value;
    }
  }
  out['cache-control'] = privateCacheControl(upstream['cache-control']);
  out['vary'] = varyCookie(upstream['vary']);
  if (policy.sandbox) {
    const theirs = upstream['content-security-policy'];
    // A second CSP header only adds restrictions, so the pod's own policy still applies.
    // (Node's types allow one value; an array sends one header line each, as intended.)
    (out as Record<string, string | string[]>)['content-security-policy'] =
      theirs === undefined ? POD_SANDBOX_CSP : [...[theirs].flat(), POD_SANDBOX_CSP];
    out['x-content-type-options'] = 'nosniff';
  }
  return { kind: 'ok', headers: out };
}
