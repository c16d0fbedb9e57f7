import type { Logger } from 'pino';

export interface AuditTarget {
  readonly namespace: string;
  readonly service: string;
  readonly pod: string;
}

/** One line per proxied (or refused) request: who, which pod, which path, what happened. */
export interface AuditRecord {
  readonly email: string;
  readonly sid: string;
  readonly method: string;
  /** The path as requested from the proxy (under /proxy/). */
  readonly path: string;
  /**
   * The pod asked for, when the path named one. Nested, not flat: every line already carries
   * the logger's own `service` ("svc-proxy"), and a second `service` key in the same JSON object
   * is dropped or rejected by log pipelines.
   */
  readonly target?: AuditTarget;
  /** ip:port actually connected to; absent when the request was refused before connecting. */
  readonly upstream?: string;
  readonly status: number;
  readonly outcome:
    | 'proxied'
    | 'refused'
    | 'upstream-error'
    /** svc-proxy itself failed on this request (a bug): answered 502, the process kept serving. */
    | 'proxy-error'
    | 'client-aborted'
    | 'websocket';
  readonly durationMs: number;
  readonly reason?: string;
}

/**
 * The logger audit lines go to: `audit: true` is bound once (pino serialises a child's bindings
 * once, not per line), and each record is logged as it is, without a copy.
 */
export function auditLogger(logger: Logger): Logger {
  return logger.child({ audit: true });
}
