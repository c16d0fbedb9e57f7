import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The workspace's read-only shared fixtures live beside the repository root. */
export const SHARED_DIR = path.resolve(__dirname, '../../../..', '../shared');

export function openRedirectPayloads(): string[] {
  const file = path.join(SHARED_DIR, 'fixtures/security/openredirects.txt');
  // One payload per line; the first is deliberately empty, so only the final newline is dropped.
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => line.replace(/\r$/, ''));
}

/**
 * Independent judge of a redirect result: either the default landing page, or a path that a
 * browser resolves on the proxy's own origin, with no protocol-relative or backslash form at any
 * decoding depth and no control characters.
 */
export function isSafeLocalRedirect(location: string, origin: string): boolean {
  if (location === '/') return true;
  if (!location.startsWith('/') || location.startsWith('//')) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(location)) return false;
  if (new URL(location, origin).origin !== origin) return false;
  let current = location;
  for (let i = 0; i < 5; i++) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      return false;
    }
    if (next === current) break;
    // eslint-disable-next-line no-control-regex
    if (next.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(next) || !next.startsWith('/'))
      return false;
    if (new URL(next, origin).origin !== origin) return false;
    current = next;
  }
  return true;
}
