import express, { type Request, type RequestHandler } from 'express';
import { BadRequestError } from './errors';

const kindOf = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;

/** GET and HEAD requests have no body to check, whatever their headers say. */
const carriesBody = (req: Request) => req.method !== 'GET' && req.method !== 'HEAD';

/** Declared length; a chunked body counts as present. */
const bodyLength = (req: Request) =>
  req.headers['transfer-encoding'] !== undefined
    ? Infinity
    : Number(req.headers['content-length'] ?? 0) || 0;

/**
 * The API's request bodies: JSON objects only.
 *
 * A body must come with `content-type: application/json` (or a `+json` type). Anything else is
 * refused with 415 rather than parsed as JSON anyway: a browser sends text/plain, form and
 * multipart bodies cross-site without asking the server first ("simple" requests), so a page on
 * any site could otherwise create games and play moves here. A POST with no body and no
 * content type is an action without arguments (undo, resign, …) and reads as `{}`. An empty
 * body sent as JSON, and JSON that is not an object (`null`, `"hello"`, `[1]`), are body errors
 * (400), not content-type ones.
 */
export function jsonObjectBody(limitBytes: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    if (!carriesBody(req)) return next();
    const hasBody = bodyLength(req) > 0;
    const type = req.headers['content-type'];
    if (type === undefined && !hasBody) return next();
    if (!req.is(['application/json', '+json'])) {
      throw new BadRequestError(
        `request bodies must be JSON: send content-type: application/json (got ${type === undefined ? 'no content-type' : JSON.stringify(type)})`,
        [],
        415,
        'unsupported-media-type',
      );
    }
    if (!hasBody) {
      throw new BadRequestError(
        'request body is empty: send a JSON object, e.g. {} for an action without arguments',
        [],
        400,
        'empty-body',
      );
    }
    next();
  };
  const requireObject: RequestHandler = (req, _res, next) => {
    const body: unknown = req.body;
    if (
      carriesBody(req) &&
      bodyLength(req) > 0 &&
      (typeof body !== 'object' || body === null || Array.isArray(body))
    ) {
      throw new BadRequestError(
        `request body: expected a JSON object, e.g. {"side": "white"}, got ${kindOf(body)}`,
        [],
        400,
        'not-an-object',
      );
    }
    next();
  };
  return [
    requireJson,
    // Not strict: `null` or `"hello"` then reach requireObject, which says what was expected.
    express.json({ limit: limitBytes, strict: false, type: () => true }),
    requireObject,
  ];
}
