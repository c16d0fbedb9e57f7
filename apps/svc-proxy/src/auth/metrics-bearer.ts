import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Compares in constant time. Hashing first gives both sides the same length, so neither the
 * comparison nor an early length check reveals how much of a guess was right.
 */
export function bearerMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * GET /metrics for a Prometheus scraper holding METRICS_BEARER_TOKEN. Requests without an
 * Authorization header fall through to the session gate (operators in a browser); a wrong or
 * malformed token is refused with 401 rather than sent to sign-in, which a scraper cannot do.
 */
export function metricsBearerGate(
  token: string,
  registry: Registry,
  logger: Logger,
): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    if (header === undefined) {
      next();
      return;
    }
    const match = /^Bearer ([\x21-\x7e]+)$/i.exec(header);
    if (!match?.[1] || !bearerMatches(match[1], token)) {
      logger.warn(
        { ip: req.socket.remoteAddress, path: req.path },
        'metrics scrape refused: wrong bearer token',
      );
      res
        .status(401)
        .set('www-authenticate', 'Bearer realm="svc-proxy metrics", error="invalid_token"')
        .type('text/plain')
        .send(
          'svc-proxy: the bearer token for /metrics is wrong (compare with METRICS_BEARER_TOKEN)\n',
        );
      return;
    }
    registry.metrics().then(
      (text) =>
        res.status(200).set('cache-control', 'no-store').type(registry.contentType).send(text),
      (error: unknown) => next(error),
    );
  };
}
