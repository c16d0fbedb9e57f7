import type { IncomingHttpHeaders } from 'node:http';

/**
 * Endpoints that make a process work for seconds: Go's CPU profile and execution trace on pods,
 * and the proxy's own CPU and wall-clock profiles. A cross-site page could otherwise make every
 * signed-in operator's browser start one with a plain link or `<img>` (SameSite=Lax sends the
 * cookie on top-level GETs).
 */
const EXPENSIVE = /^\/debug\/pprof\/(?:profile|trace|wall)$/;

export const isExpensiveProfile = (path: string): boolean =>
  EXPENSIVE.test(path.split('?', 1)[0] ?? '');

/**
 * Whether the browser says the request was started from another site (`cross-site`,
 * `same-site`; sandboxed pod pages count as cross-site). Requests typed in or bookmarked say
 * `none`; clients that are not browsers (curl, `go tool pprof`) send no Sec-Fetch-Site at all.
 */
export function startedElsewhere(headers: IncomingHttpHeaders): boolean {
  const site = headers['sec-fetch-site'];
  return site !== undefined && site !== 'same-origin' && site !== 'none';
}
