/**
 * Post-login redirect validation. A target is accepted only if it is (or reduces to) a path on
 * this proxy's own origin; everything else falls back to the landing page. The checks look at
 * the target as sent and at every percent-decoded layer of it, because proxies, browsers and
 * upstream frameworks disagree about how many times to decode (`/%2F%2Fevil`, `/%5Cevil`).
 */

export type RedirectDecision =
  | { readonly kind: 'local'; readonly path: string }
  | { readonly kind: 'refused'; readonly reason: string };

export const DEFAULT_REDIRECT = '/';
const MAX_LENGTH = 4096;
const MAX_DECODE_LAYERS = 4;
// C0 controls, space-less whitespace, DEL and C1 controls: browsers strip some of them
// (`/\t/evil` becomes `//evil`), so any of them anywhere makes the target unusable.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;

function layers(value: string): string[] | undefined {
  const out = [value];
  let current = value;
  for (let i = 0; i < MAX_DECODE_LAYERS && current.includes('%'); i++) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      return undefined; // malformed escapes: no telling what a browser would make of them
    }
    if (next === current) break;
    out.push(next);
    current = next;
  }
  return out;
}

function formProblem(form: string): string | undefined {
  if (!form.startsWith('/')) return 'is not an absolute path on this host';
  if (form.startsWith('//')) return 'is protocol-relative (//host)';
  if (form.includes('\\')) return 'contains a backslash, which browsers treat as "/"';
  if (CONTROL.test(form)) return 'contains control or invisible characters';
  return undefined;
}

function pathProblem(path: string): string | undefined {
  const forms = layers(path);
  if (!forms) return 'has malformed percent-encoding';
  for (const form of forms) {
    const problem = formProblem(form);
    if (problem) return form === path ? problem : `${problem} once percent-decoded`;
  }
  return undefined;
}

/**
 * Decides where to send a user after sign-in. `publicOrigin` is this proxy's own origin:
 * absolute URLs pointing at it are reduced to their path, absolute URLs to anything else refused.
 */
export function decideRedirect(target: unknown, publicOrigin: string): RedirectDecision {
  if (typeof target !== 'string' || target.length === 0)
    return { kind: 'refused', reason: 'no target' };
  if (target.length > MAX_LENGTH)
    return { kind: 'refused', reason: `longer than ${MAX_LENGTH} characters` };
  if (CONTROL.test(target) || target.includes('\\')) {
    return { kind: 'refused', reason: 'contains control characters or a backslash' };
  }

  let candidate = target;
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    let absolute: URL;
    try {
      absolute = new URL(target);
    } catch {
      return { kind: 'refused', reason: 'has a scheme but is not a valid URL' };
    }
    if (absolute.origin !== publicOrigin || absolute.username || absolute.password) {
      return {
        kind: 'refused',
        reason: `points at another origin (${absolute.protocol}//${absolute.host})`,
      };
    }
    candidate = absolute.pathname + absolute.search + absolute.hash;
  }

  const before = pathProblem(candidate);
  if (before) return { kind: 'refused', reason: `target ${before}` };

  // Re-serialise through the WHATWG parser so what we emit is what a browser would resolve,
  // then check the result again: dot-segments can turn `/.//evil` into `//evil`.
  let resolved: URL;
  try {
    resolved = new URL(candidate, publicOrigin);
  } catch {
    return { kind: 'refused', reason: 'is not a valid path' };
  }
  if (resolved.origin !== publicOrigin)
    return { kind: 'refused', reason: 'resolves to another origin' };
  const path = resolved.pathname + resolved.search + resolved.hash;
  const after = pathProblem(path);
  if (after) return { kind: 'refused', reason: `normalised target ${after}` };
  // Landing back in the sign-in flow would loop through the provider.
  if (resolved.pathname.startsWith('/oauth2/'))
    return { kind: 'refused', reason: 'points into the sign-in flow itself' };
  return { kind: 'local', path };
}

/** The path to redirect to: the validated target, or the landing page. */
export function safeRedirectPath(target: unknown, publicOrigin: string): string {
  const decision = decideRedirect(target, publicOrigin);
  return decision.kind === 'local' ? decision.path : DEFAULT_REDIRECT;
}
