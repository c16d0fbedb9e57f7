import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Histogram, type Registry } from 'prom-client';

/** Label for requests no route handled (404s, static files): keeps raw paths out of labels. */
export const UNMATCHED_ROUTE = '<unmatched>';

/**
 * The route template that served a request ("/games/:id", never "/games/42"): bounded label
 * cardinality whatever clients send. Read at 'finish', after routing filled req.route.
 */
export function routeTemplate(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  if (!route || route.path === undefined) return UNMATCHED_ROUTE;
  const path = Array.isArray(route.path) ? route.path.map(String).join('|') : String(route.path);
  return `${req.baseUrl}${path}` || '/';
}

export function httpMetricsMiddleware(registry: Registry): RequestHandler {
  const histogram = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      histogram.observe(
        { method: req.method, route: routeTemplate(req), status_code: String(res.statusCode) },
        seconds,
      );
    });
    next();
  };
}
