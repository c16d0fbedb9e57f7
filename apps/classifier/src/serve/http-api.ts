import { ClassifyItem, CLASSIFY_LIMITS } from '@conveyor/contracts';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { OverloadedError } from './batcher';
import { ModelUnavailableError, type ClassificationService } from './classification-service';

/** POST /v1/classify takes one question or a batch of them. */
const ClassifyBody = z.union([
  z
    .object({
      items: z
        .array(ClassifyItem)
        .min(1, 'items must hold at least one question')
        .max(CLASSIFY_LIMITS.items),
    })
    .strict(),
  ClassifyItem.strict(),
]);

interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

function sendError(
  res: Response,
  status: number,
  code: string,
  message: string,
  details?: unknown,
): void {
  const body: ErrorBody = {
    error: { code, message, ...(details !== undefined ? { details } : {}) },
  };
  res.status(status).json(body);
}

/** Zod's union errors are hard to read; this reports the issues of the shape the caller attempted. */
function describeInvalidBody(body: unknown): {
  message: string;
  details: { path: string; message: string }[];
} {
  const isBatch = typeof body === 'object' && body !== null && 'items' in body;
  const schema = isBatch ? ClassifyBody.options[0] : ClassifyBody.options[1];
  const result = schema.safeParse(body);
  const issues = result.success ? [] : result.error.issues;
  const details = issues.map((issue) => ({
    path: issue.path.join('.') || '(body)',
    message: issue.message,
  }));
  const summary = details.map((d) => `${d.path}: ${d.message}`).join('; ');
  return {
    message: `invalid request body (${summary}); send {"title": "...", "body": "..."} or {"items": [{"title": "...", "body": "..."}]}`,
    details,
  };
}

export function createClassifierApp(options: {
  service: ClassificationService;
  logger: Logger;
  bodyLimitBytes: number;
  mountObservability(app: Express): void;
}): Express {
  const { service, logger } = options;
  const app = express();
  app.disable('x-powered-by');
  options.mountObservability(app);

  app.post(
    '/v1/classify',
    express.json({ limit: options.bodyLimitBytes }),
    async (req: Request, res: Response) => {
      if (req.body === undefined) {
        sendError(
          res,
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          'send the request body as JSON with Content-Type: application/json',
        );
        return;
      }
      const parsed = ClassifyBody.safeParse(req.body);
      if (!parsed.success) {
        const { message, details } = describeInvalidBody(req.body);
        logger.info({ details }, 'rejected invalid classify request');
        sendError(res, 400, 'INVALID_REQUEST', message, details);
        return;
      }
      try {
        if ('items' in parsed.data) {
          const results = await service.classify(parsed.data.items);
          res.json({ model: service.modelInfo(), results });
        } else {
          const [result] = await service.classify([parsed.data]);
          res.json({ model: service.modelInfo(), ...result });
        }
      } catch (error) {
        if (error instanceof ModelUnavailableError || error instanceof OverloadedError) {
          res.setHeader('Retry-After', '1');
          logger.warn({ err: error.message }, 'classify request refused');
          sendError(
            res,
            503,
            error instanceof OverloadedError ? 'OVERLOADED' : 'MODEL_UNAVAILABLE',
            error.message,
          );
          return;
        }
        logger.error({ err: error }, 'classify request failed');
        sendError(res, 500, 'INTERNAL', 'the model failed on this request; see the service logs');
      }
    },
  );

  app.use((req: Request, res: Response) => {
    sendError(
      res,
      404,
      'NOT_FOUND',
      `no route for ${req.method} ${req.path}; the API is POST /v1/classify`,
    );
  });

  // Body-parser errors carry a status (413 too large, 400 malformed JSON); express needs all four args.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const err = error as { status?: number; type?: string; message?: string };
    if (err.type === 'entity.too.large') {
      logger.info({ limit: options.bodyLimitBytes }, 'rejected oversized classify request');
      sendError(
        res,
        413,
        'BODY_TOO_LARGE',
        `request body exceeds ${options.bodyLimitBytes} bytes; send fewer or shorter questions`,
      );
      return;
    }
    if (err.type === 'entity.parse.failed') {
      logger.info({ err: err.message }, 'rejected malformed JSON');
      sendError(res, 400, 'INVALID_JSON', `request body is not valid JSON: ${err.message}`);
      return;
    }
    const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
    logger.error({ err: error }, 'request failed');
    sendError(
      res,
      status,
      status === 500 ? 'INTERNAL' : 'BAD_REQUEST',
      err.message ?? 'request failed',
    );
  });
  return app;
}
