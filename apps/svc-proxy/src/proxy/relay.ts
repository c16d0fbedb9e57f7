import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { SessionUser } from '../auth/session';
import type { Target } from '../discovery/targets';
import { downstreamHeaders, type ResponsePolicy } from './response-headers';
import { htmlRewriter, rewriteHtml, yieldingSlices } from './rewrite';

/** Everything known about one proxied request, kept from dispatch until it completes. */
export interface Exchange {
  readonly user: SessionUser;
  readonly target: Target;
  readonly policy: ResponsePolicy;
  readonly started: number;
  readonly path: string;
  readonly method: string;
  /** Set when the request failed, so the audit line says why and whose fault it was. */
  failure?: { readonly outcome: 'upstream-error' | 'proxy-error'; readonly reason: string };
}

/** What every relay shares: built once per proxy, not per request. */
export interface RelayDeps {
  readonly logger: Logger;
  readonly maxRewriteBytes: number;
  readonly proxyTimeoutMs: number;
  /** Ends a request the proxy itself failed on (502, logged with its stack). */
  readonly internalFailure: (res: ServerResponse, error: unknown, exchange: Exchange) => void;
}

/** Characters of a streamed HTML page tokenized in one go before other work gets a turn. */
const REWRITE_SLICE_CHARS = 16 * 1024;

/**
 * Response headers Node's own HTTP client keeps only the first of (IncomingMessage semantics),
 * so a pod sending two `Location` lines is treated exactly as before the switch to undici.
 */
const FIRST_ONLY: ReadonlySet<string> = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/**
 * undici's raw response headers (alternating name/value buffers) as Node's IncomingMessage
 * would present them: lower-case names, `set-cookie` always an array, the FIRST_ONLY headers
 * once, every other repeated header joined with ", ".
 */
export function headersFromRaw(raw: readonly Buffer[]): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1').toLowerCase();
    const value = (raw[i + 1] as Buffer).toString('latin1');
    const previous = out[name];
    if (name === 'set-cookie') {
      if (previous === undefined) out['set-cookie'] = [value];
      else (previous as string[]).push(value);
    } else if (previous === undefined) out[name] = value;
    else if (!FIRST_ONLY.has(name)) out[name] = `${String(previous)}, ${value}`;
  }
  return out;
}

function isHtml(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*text\/html\b/i.test(contentType);
}

const errorMessage = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** undici's codes for a request that outlived PROXY_TIMEOUT_SECONDS (answer or body idle). */
const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** undici refusing the request we built (a header value, an argument): our failure, not the pod's. */
const OUR_FAULT_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
]);

export function plainError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(`${message}\n`);
}

const enum Mode {
  /** Waiting for the pod's answer. */
  Waiting,
  /** Body bytes go straight to the client. */
  Piped,
  /** A small HTML page collected for rewriting in one piece. */
  Collecting,
  /** A large HTML page rewritten while it streams. */
  Rewriting,
  /** The answer was refused or the request failed: remaining body bytes are dropped. */
  Discarding,
}

/**
 * One proxied request's answer, as an undici dispatch handler: undici's own callback interface
 * (onConnect/onHeaders/onData/onComplete/onError) is its native one (the newer controller API is
 * wrapped around it), and costs a fraction of Node's ClientRequest + IncomingMessage per request.
 * All callbacks run outside any request handler, so each is guarded: a throw ends this request
 * with a 502 and an audit line, never the process.
 */
export class Relay implements Dispatcher.DispatchHandler {
  private abortUpstream: ((error?: Error) => void) | undefined;
  private cancelled = false;
  private mode = Mode.Waiting;
  private status = 0;
  private headers: OutgoingHttpHeaders | undefined;
  private chunks: Buffer[] = [];
  private size = 0;
  private source: PassThrough | undefined;
  private resumeUpstream: (() => void) | undefined;

  constructor(
    private readonly deps: RelayDeps,
    private readonly res: ServerResponse,
    private readonly exchange: Exchange,
  ) {}

  /** The client left (or the request is otherwise over on our side): stop asking the pod. */
  cancel(): void {
    this.cancelled = true;
    this.mode = Mode.Discarding;
    this.source?.destroy();
    this.abortUpstream?.();
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.cancelled) abort();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx answers other than 101 are interim (Node's client drops them too); the real one follows.
    if (statusCode < 200 || this.mode !== Mode.Waiting) return true;
    this.resumeUpstream = resume;
    try {
      return this.answer(statusCode, headersFromRaw(rawHeaders));
    } catch (error) {
      this.fail(error);
      return true;
    }
  }

  private answer(status: number, upstream: IncomingHttpHeaders): boolean {
    const { res, exchange } = this;
    const filtered = downstreamHeaders(upstream, exchange.policy);
    if (filtered.kind === 'off-origin-redirect') {
      this.mode = Mode.Discarding;
      const where = filtered.location.slice(0, 200);
      exchange.failure = {
        outcome: 'upstream-error',
        reason: `redirect off this origin refused: ${where}`,
      };
      plainError(
        res,
        502,
        `svc-proxy: the pod redirected to ${where}, which is not on this proxy; the redirect was not followed`,
      );
      return true;
    }
    const encoded = (upstream['content-encoding'] ?? 'identity') !== 'identity';
    if (isHtml(upstream['content-type']) && !encoded && exchange.method !== 'HEAD') {
      // Small pages are rewritten in one piece (with a Content-Length); once a page outgrows
      // MAX_REWRITE_BYTES it is rewritten as it streams, so a huge page neither sits in memory
      // nor holds the event loop while it is parsed.
      this.mode = Mode.Collecting;
      this.status = status;
      this.headers = filtered.headers;
      return true;
    }
    this.mode = Mode.Piped;
    res.writeHead(status, filtered.headers);
    return true;
  }

  onData(chunk: Buffer): boolean {
    try {
      switch (this.mode) {
        case Mode.Piped:
          return this.res.write(chunk) || this.waitFor(this.res);
        case Mode.Collecting:
          this.chunks.push(chunk);
          this.size += chunk.length;
          if (this.size > this.deps.maxRewriteBytes) this.streamRewrite();
          return true;
        case Mode.Rewriting:
          return (this.source as PassThrough).write(chunk) || this.waitFor(this.source);
        default:
          return true;
      }
    } catch (error) {
      this.fail(error);
      return true;
    }
  }

  /** Backpressure: undici pauses reading the pod until `stream` drains. */
  private waitFor(stream: NodeJS.WritableStream | undefined): false {
    const resume = this.resumeUpstream;
    if (stream && resume) stream.once('drain', resume);
    return false;
  }

  onComplete(): void {
    try {
      switch (this.mode) {
        case Mode.Piped:
          this.res.end();
          break;
        case Mode.Collecting:
          this.rewriteWhole();
          break;
        case Mode.Rewriting:
          (this.source as PassThrough).end();
          break;
        default:
      }
    } catch (error) {
      this.fail(error);
    }
  }

  onError(error: Error): void {
    if (this.cancelled) return;
    try {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (OUR_FAULT_CODES.has(code)) {
        this.fail(error);
        return;
      }
      const { res, exchange } = this;
      const timedOut = TIMEOUT_CODES.has(code);
      const reason = timedOut ? 'timeout' : code || error.message;
      exchange.failure ??= { outcome: 'upstream-error', reason };
      this.mode = Mode.Discarding;
      this.source?.destroy();
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const t = exchange.target;
      const where = `${t.namespace}/${t.service}/${t.pod} (${exchange.policy.upstreamHost})`;
      plainError(
        res,
        timedOut ? 504 : 502,
        timedOut
          ? `svc-proxy: ${where} did not answer within ${this.deps.proxyTimeoutMs / 1000}s (PROXY_TIMEOUT_SECONDS)`
          : `svc-proxy: cannot reach ${where}: ${reason}`,
      );
    } catch (failure) {
      this.fail(failure);
    }
  }

  /** Whatever threw while relaying: stop reading the pod, answer 502 (or cut the stream). */
  private fail(error: unknown): void {
    this.mode = Mode.Discarding;
    this.source?.destroy();
    if (!this.cancelled) this.abortUpstream?.();
    this.cancelled = true;
    this.deps.internalFailure(this.res, error, this.exchange);
  }

  private rewriteWhole(): void {
    const { res, exchange } = this;
    const body = Buffer.concat(this.chunks, this.size).toString('utf8');
    this.chunks = [];
    rewriteHtml(body, exchange.policy).then(
      (rewritten: string) => {
        try {
          const headers = this.headers as OutgoingHttpHeaders;
          headers['content-length'] = String(Buffer.byteLength(rewritten));
          res.writeHead(this.status, headers);
          res.end(rewritten);
        } catch (error) {
          this.deps.internalFailure(res, error, exchange);
        }
      },
      (error: unknown) => {
        this.deps.logger.error(
          { err: errorMessage(error), path: exchange.path },
          'HTML rewrite failed',
        );
        plainError(res, 502, 'svc-proxy could not rewrite the HTML page returned by the pod');
      },
    );
  }

  private streamRewrite(): void {
    const { res, exchange } = this;
    this.mode = Mode.Rewriting;
    const headers = this.headers as OutgoingHttpHeaders;
    delete headers['content-length'];
    res.writeHead(this.status, headers);
    const rewriter = htmlRewriter(exchange.policy);
    rewriter.on('error', (error: unknown) => {
      this.deps.logger.error(
        { err: errorMessage(error), path: exchange.path },
        'HTML rewrite failed',
      );
      this.cancel();
      res.destroy();
    });
    // Bytes in, UTF-8 text out, never splitting a character across two writes.
    const source = new PassThrough();
    source.setEncoding('utf8');
    this.source = source;
    const slices = yieldingSlices(REWRITE_SLICE_CHARS);
    source.pipe(slices).pipe(rewriter).pipe(res);
    for (const chunk of this.chunks) source.write(chunk);
    this.chunks = [];
  }
}
