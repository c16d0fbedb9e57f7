import { realpath } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, resolve, sep } from 'node:path';

/**
 * Where page URIs may point. Examples get copied into production, so a page URI is never
 * trusted: it names a file inside this root or nothing at all (see README "Page URIs").
 */
export const PAGES_ROOT_VARIABLE = 'PAGES_ROOT';
export const DEFAULT_PAGES_ROOT = join(__dirname, '..', '..', 'sample');

/** The root from `PAGES_ROOT` (relative to the working directory) or the example's `sample/`. */
export function pagesRootFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env[PAGES_ROOT_VARIABLE];
  return configured ? resolve(configured) : DEFAULT_PAGES_ROOT;
}

/** Longest part of a caller's URI quoted back in an error (the URI itself may be megabytes). */
const QUOTE_LIMIT = 120;
const quote = (uri: string) =>
  JSON.stringify(
    uri.length > QUOTE_LIMIT ? `${uri.slice(0, QUOTE_LIMIT)}… (${uri.length} characters)` : uri,
  );

export type PagePath =
  | { readonly kind: 'inside'; readonly path: string; readonly relative: string }
  | {
      readonly kind: 'refused';
      readonly code: 'PAGE_URI_REFUSED' | 'PAGE_UNREADABLE';
      readonly reason: string;
    };

/**
 * Resolves `uri` to a real file path inside `root`. Refused: a scheme (`file:`, `http:`…), an
 * absolute path, a path that still starts with `..` once normalised, and a path whose real
 * location (symlinks followed) is outside the root. Reasons quote only the caller's own URI and
 * paths relative to the root, never where the root is on the server.
 */
export async function resolvePagePath(root: string, uri: string): Promise<PagePath> {
  const refuse = (reason: string): PagePath => ({
    kind: 'refused',
    code: 'PAGE_URI_REFUSED',
    reason: `${reason}; page URIs are paths relative to the pages root (${PAGES_ROOT_VARIABLE}), e.g. "pages/page-1.txt"`,
  });
  if (uri.includes('\0')) return refuse(`uri ${quote(uri)} contains a NUL character`);
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri)) return refuse(`uri ${quote(uri)} has a scheme`);
  const slashed = uri.replace(/\\/g, '/');
  if (slashed.startsWith('/')) return refuse(`uri ${quote(uri)} is an absolute path`);
  const normalised = posix.normalize(slashed);
  if (normalised === '..' || normalised.startsWith('../'))
    return refuse(`uri ${quote(uri)} leaves the pages root through ".."`);
  if (normalised === '.' || normalised.endsWith('/'))
    return refuse(`uri ${quote(uri)} names a directory, not a page`);

  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch {
    // An operator's mistake: said without the server path, which the operator knows anyway.
    return {
      kind: 'refused',
      code: 'PAGE_UNREADABLE',
      reason: `the pages root (${PAGES_ROOT_VARIABLE}) of this worker does not exist`,
    };
  }
  let real: string;
  try {
    real = await realpath(join(realRoot, normalised));
  } catch {
    return {
      kind: 'refused',
      code: 'PAGE_UNREADABLE',
      reason: `no page at ${quote(normalised)} under the pages root`,
    };
  }
  const inside = relative(realRoot, real);
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside))
    return refuse(`uri ${quote(uri)} is a link leading out of the pages root`);
  if (inside === '') return refuse(`uri ${quote(uri)} names the pages root itself`);
  return { kind: 'inside', path: real, relative: normalised };
}
