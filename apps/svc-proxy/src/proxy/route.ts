import { LABEL_RE, SUBDOMAIN_RE, type Target } from '../discovery/targets';

export const PROXY_PREFIX = '/proxy/';

export type ProxyRoute =
  | {
      readonly kind: 'route';
      readonly namespace: string;
      readonly service: string;
      readonly pod: string;
      /** `/proxy/<ns>/<svc>/<pod>`, without trailing slash. */
      readonly prefix: string;
      /** Path and query as the pod sees them; always starts with `/`. */
      readonly upstreamPath: string;
    }
  /** `/proxy/ns/svc/pod` without the slash: relative links need the directory form. */
  | { readonly kind: 'add-slash'; readonly location: string }
  | { readonly kind: 'invalid'; readonly status: 400 | 404; readonly reason: string };

// Anything that could be decoded into a separator or dot-segment by the proxy, a browser or the
// pod: refused outright rather than normalised, since no debug page needs them.
const ENCODED_SEPARATOR = /%(25)*(2f|5c|2e|00)/i; // also double-encoded: %252f
const ESCAPE = /%[0-9a-f]{2}/gi;
/** Decoding rounds checked: a path that still decodes further after these is refused too. */
const DECODE_ROUNDS = 4;

/**
 * Whether some percent-decoding of the path (up to DECODE_ROUNDS deep) yields an encoded
 * separator: catches `%252f`, but also escapes whose hex digits are themselves escaped
 * (`%25%32%65` decodes to `%2e`, then to `.`), which a single pattern over the raw path misses.
 * Decodes byte-wise and leniently (a malformed `%zz` stays as it is), as the check must hold for
 * whatever decoder the pod uses.
 */
function hidesEncodedSeparator(path: string): boolean {
  let current = path;
  for (let round = 0; round <= DECODE_ROUNDS; round++) {
    if (ENCODED_SEPARATOR.test(current)) return true;
    const next = current.replace(ESCAPE, (e) => String.fromCharCode(parseInt(e.slice(1), 16)));
    if (next === current) return false;
    current = next;
  }
  return true;
}
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0020\u007f]/;
const DOT_SEGMENT = /(^|\/)\.\.?(\/|$)/;

/**
 * Parses a raw (undecoded) request URL under /proxy/. Works on the URL as received, so
 * `..%2f` cannot be decoded into a traversal after the check.
 */
export function parseProxyPath(rawUrl: string): ProxyRoute {
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = q === -1 ? '' : rawUrl.slice(q);
  if (!path.startsWith(PROXY_PREFIX))
    return { kind: 'invalid', status: 404, reason: `not under ${PROXY_PREFIX}` };
  if (path.includes('\\'))
    return { kind: 'invalid', status: 400, reason: 'the path contains a backslash' };
  if (CONTROL.test(path))
    return {
      kind: 'invalid',
      status: 400,
      reason: 'the path contains spaces or control characters',
    };
  if (path.includes('%') && hidesEncodedSeparator(path)) {
    return {
      kind: 'invalid',
      status: 400,
      reason:
        'the path contains an encoded "/", "\\", "." or NUL (%2f, %5c, %2e, %00), possibly encoded more than once',
    };
  }
  if (DOT_SEGMENT.test(path))
    return { kind: 'invalid', status: 400, reason: 'the path contains a "." or ".." segment' };

  const rest = path.slice(PROXY_PREFIX.length);
  const parts = rest.split('/');
  const [namespace = '', service = '', pod = ''] = parts;
  if (parts.length < 3 || !namespace || !service || !pod) {
    return {
      kind: 'invalid',
      status: 404,
      reason: 'expected /proxy/<namespace>/<service>/<pod>/<path>',
    };
  }
  if (!LABEL_RE.test(namespace))
    return {
      kind: 'invalid',
      status: 404,
      reason: `${JSON.stringify(namespace)} is not a namespace name`,
    };
  if (!LABEL_RE.test(service))
    return {
      kind: 'invalid',
      status: 404,
      reason: `${JSON.stringify(service)} is not a service name`,
    };
  if (!SUBDOMAIN_RE.test(pod))
    return { kind: 'invalid', status: 404, reason: `${JSON.stringify(pod)} is not a pod name` };
  const prefix = `${PROXY_PREFIX}${namespace}/${service}/${pod}`;
  if (parts.length === 3) return { kind: 'add-slash', location: `${prefix}/${query}` };
  const upstreamPath = `/${parts.slice(3).join('/')}${query}`;
  return { kind: 'route', namespace, service, pod, prefix, upstreamPath };
}

export function proxyPathFor(
  target: Pick<Target, 'namespace' | 'service' | 'pod'>,
  path: string,
): string {
  return `${PROXY_PREFIX}${target.namespace}/${target.service}/${target.pod}${path.startsWith('/') ? path : `/${path}`}`;
}
