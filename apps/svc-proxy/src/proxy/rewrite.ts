import { RewritingStream } from 'parse5-html-rewriting-stream';

/** What a pod-relative URL is rewritten against. */
export interface RewriteContext {
  /** `/proxy/<ns>/<svc>/<pod>` */
  readonly prefix: string;
  /** `ip:port` of the pod ([ip]:port for IPv6) as it may appear in absolute URLs it emits. */
  readonly upstreamHost: string;
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

function rewriteRefresh(content: string, ctx: RewriteContext): string {
  const m = /^(\s*\d+\s*[;,]\s*url\s*=\s*['"]?)([^'"]*)(['"]?\s*)$/i.exec(content);
  return m ? `${m[1]}${rewriteUrl(m[2] ?? '', ctx)}${m[3]}` : content;
}

/**
 * Rewrites URL-bearing attributes of an HTML document. Uses parse5's rewriting stream: unchanged
 * markup is passed through byte for byte, and script/style text is never touched.
 */
export function rewriteHtml(html: string, ctx: RewriteContext): Promise<string> {
  return new Promise((resolve, reject) => {
    const rewriter = new RewritingStream();
    let out = '';
    rewriter.on('startTag', (tag) => {
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
          const next = rewriteRefresh(attr.value, ctx);
          if (next !== attr.value) {
            attr.value = next;
            changed = true;
          }
        }
      }
      if (changed) rewriter.emitStartTag(tag);
      else
        rewriter.emitRaw(
          tag.sourceCodeLocation
            ? html.slice(tag.sourceCodeLocation.startOffset, tag.sourceCodeLocation.endOffset)
            : '',
        );
    });
    rewriter.on('data', (chunk: string) => (out += chunk));
    rewriter.on('end', () => resolve(out));
    rewriter.on('error', reject);
    rewriter.end(html);
  });
}
