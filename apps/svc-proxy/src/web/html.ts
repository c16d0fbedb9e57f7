import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export const escapeHtml = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

/** A tagged template whose interpolations are escaped unless wrapped in raw(). */
export class RawHtml {
  constructor(readonly html: string) {}
}
export const raw = (html: string): RawHtml => new RawHtml(html);

export function html(strings: TemplateStringsArray, ...values: unknown[]): RawHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    const parts = Array.isArray(value) ? value : [value];
    for (const part of parts) out += part instanceof RawHtml ? part.html : escapeHtml(part ?? '');
    out += strings[i + 1] ?? '';
  });
  return new RawHtml(out);
}

/**
 * Sends one of the proxy's own pages. Its CSP allows only same-origin fetches and the one
 * nonce'd inline script, so a pod name or other cluster-provided text cannot run as script.
 */
export function sendPage(
  res: ServerResponse,
  status: number,
  title: string,
  body: (nonce: string) => RawHtml,
): void {
  const nonce = randomBytes(16).toString('base64');
  // Plain Node (no Express helpers): also sent from the proxy's hot path, which bypasses Express.
  const page =
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · svc-proxy</title>` +
    `<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}` +
    `td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}code{font-size:13px}` +
    `.muted{color:#777}form{display:inline}</style></head><body>${body(nonce).html}</body></html>\n`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(page)),
    'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  });
  res.end(page);
}
