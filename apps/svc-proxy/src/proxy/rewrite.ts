import { Transform } from 'node:stream';
import { RewritingStream } from 'parse5-html-rewriting-stream';

/** What a pod-relative URL is rewritten against. */
export interface RewriteContext {
  /** `/proxy/<ns>/<svc>/<pod>` */
  readonly prefix: string;
  /** `ip:port` of the pod ([ip]:port for IPv6) as it may appear in absolute URLs it emits. */
  readonly upstreamHost: string;
  /** PUBLIC_URL's origin: when set, a `<meta>` refresh must stay on it (else it is emptied). */
  readonly publicOrigin?: string;
}

/** Whether a URL, resolved as the browser would against the pod's prefix, stays on `origin`. */
export function staysOnOrigin(url: string, origin: string, prefix: string): boolean {
  try {
    return new URL(url, `${origin}${prefix}/`).origin === origin;
  } catch {
    return false;
  }
}

/**
 * Maps a URL the pod emitted onto the proxy, as the API server's proxy does: absolute paths and
 * absolute URLs to the pod itself get the prefix; relative URLs already resolve under the prefix;
 * URLs to other hosts are left alone (they are not reachable through the proxy anyway).
 */
export function rewriteUrl(value: string, ctx: RewriteContext): string {
  const trimmed = value.trim();
  if (trimmed.startsWith('/') && !trimmed.startsWith('//') && !trimmed.startsWith('/\\')) {
    return trimmed.startsWith(`${ctx.prefix}/`) ? trimmed : ctx.prefix + trimmed;
  }
  const m = /^(?:https?:)?\/\/([^/?#]+)(.*)$/i.exec(trimmed);
  if (m && m[1]?.toLowerCase() === ctx.upstreamHost.toLowerCase()) {
    const rest = m[2] ?? '';
    return ctx.prefix + (rest.startsWith('/') ? rest : `/${rest}`);
  }
  return value;
}

export const rewriteLocation = rewriteUrl;

const URL_ATTRIBUTES: Record<string, readonly string[]> = {
  a: ['href'],
  area: ['href'],
  link: ['href'],
  base: ['href'],
  img: ['src'],
  script: ['src'],
  iframe: ['src'],
  frame: ['src'],
  source: ['src'],
  video: ['src', 'poster'],
  audio: ['src'],
  embed: ['src'],
  object: ['data'],
  form: ['action'],
  button: ['formaction'],
  input: ['formaction', 'src'],
};

/**
 * The URL of a `Refresh` value (`5; url=/x`, `0;/x`, `0; URL='/x'`), parsed the way browsers do
 * (HTML's shared declarative refresh steps: the `url=` part is optional); undefined when the
 * value only reloads the page, null when it is not a refresh value at all.
 */
export function refreshTarget(content: string): { start: number; url: string } | undefined | null {
  const m = /^\s*\d[\d.]*\s*(?:[;,]\s*)?(?:url\s*=\s*)?/i.exec(content);
  if (!m) return null;
  let start = m[0].length;
  let url = content.slice(start);
  const quote = url[0];
  if (quote === '"' || quote === "'") {
    start += 1;
    const end = url.indexOf(quote, 1);
    url = url.slice(1, end === -1 ? undefined : end);
  }
  url = url.trimEnd();
  return url ? { start, url } : undefined;
}

export function rewriteRefresh(content: string, ctx: RewriteContext): string {
  const target = refreshTarget(content);
  if (!target) return content;
  const next = rewriteUrl(target.url, ctx);
  return next === target.url
    ? content
    : content.slice(0, target.start) + next + content.slice(target.start + target.url.length);
}

/** A start tag with its URL attributes rewritten, or undefined when nothing changed. */
type StartTag = Parameters<RewritingStream['emitStartTag']>[0];

function rewriteTag(tag: StartTag, ctx: RewriteContext): boolean {
  const names = URL_ATTRIBUTES[tag.tagName];
  let changed = false;
  for (const attr of tag.attrs) {
    if (names?.includes(attr.name)) {
      const next = rewriteUrl(attr.value, ctx);
      if (next !== attr.value) {
        attr.value = next;
        changed = true;
      }
    } else if (
      tag.tagName === 'meta' &&
      attr.name === 'content' &&
      tag.attrs.some((a) => a.name === 'http-equiv' && a.value.toLowerCase() === 'refresh')
    ) {
      let next = rewriteRefresh(attr.value, ctx);
      const target = refreshTarget(next);
      // A refresh off the origin would make the proxy an open redirect, like a Location.
      if (
        ctx.publicOrigin !== undefined &&
        (target === null ||
          (target !== undefined && !staysOnOrigin(target.url, ctx.publicOrigin, ctx.prefix)))
      )
        next = '';
      if (next !== attr.value) {
        attr.value = next;
        changed = true;
      }
    }
  }
  return changed;
}

/**
 * A parse5 rewriting stream (string in, string out) that rewrites URL-bearing attributes as the
 * HTML flows through: each chunk is tokenized when it arrives, so a large page never holds the
 * event loop for longer than one chunk takes. Unchanged markup passes through byte for byte and
 * script/style text is never touched.
 */
export function htmlRewriter(ctx: RewriteContext): RewritingStream {
  const rewriter = new RewritingStream();
  rewriter.on('startTag', (tag, rawHtml) => {
    if (rewriteTag(tag, ctx)) rewriter.emitStartTag(tag);
    else rewriter.emitRaw(rawHtml);
  });
  return rewriter;
}

/**
 * Cuts a string stream into slices of at most `size` characters and lets the event loop run
 * between them: the tokenizer handles each write synchronously, so this bounds how long one
 * piece of a large page can hold up every other request. Never splits a surrogate pair.
 */
export function yieldingSlices(size: number): Transform {
  return new Transform({
    decodeStrings: false,
    encoding: 'utf8',
    transform(chunk: string, _encoding, done) {
      let offset = 0;
      const next = () => {
        if (offset >= chunk.length) {
          done();
          return;
        }
        let end = Math.min(offset + size, chunk.length);
        const last = chunk.charCodeAt(end - 1);
        if (end < chunk.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
        this.push(chunk.slice(offset, end));
        offset = end;
        setImmediate(next);
      };
      next();
    },
  });
}

/**
 * Whether a page may hold anything rewriteUrl would change: an attribute-like value that starts
 * with `/`, `http(s):` or a character reference (which could decode to either), or a
 * `<meta http-equiv>` (a refresh URL need not follow an `=`). Pages without one
 * (Go's pprof index links relatively) skip the tokenizer entirely. Conservative: a false
 * positive only costs a parse.
 */
export function mayNeedRewrite(html: string): boolean {
  return /=\s*["']?\s*(?:\/|https?:|&)|http-equiv/i.test(html);
}

/** Rewrites a whole HTML document held in memory (small pages); see htmlRewriter. */
export function rewriteHtml(html: string, ctx: RewriteContext): Promise<string> {
  if (!mayNeedRewrite(html)) return Promise.resolve(html);
  return new Promise((resolve, reject) => {
    const rewriter = htmlRewriter(ctx);
    let out = '';
    rewriter.on('data', (chunk: string) => (out += chunk));
    rewriter.on('end', () => resolve(out));
    rewriter.on('error', reject);
    rewriter.end(html);
  });
}
