import type { IncomingMessage } from 'node:http';
import express, { type Request, type RequestHandler } from 'express';
import { BODY_LIMIT_VARIABLE, formatBytes, type HttpLimits } from '../limits';
import { HttpError } from './http-error';

/** Requests whose body was sent but held zero bytes (`content-length: 0`, an empty chunked body). */
const emptyBodies = new WeakSet<IncomingMessage>();

/**
 * Parses `application/json` bodies up to the body limit. Not strict: `null` or `"hello"` parse,
 * so that `jsonObjectBody` can say "expected a JSON object" instead of a parser's token error.
 */
export function jsonBodyParser(limits: HttpLimits): RequestHandler {
  return express.json({
    limit: limits.bodyBytes,
    strict: false,
    verify: (req, _res, buffer) => {
      if (buffer.length === 0) emptyBodies.add(req);
    },
  });
}

const isJsonType = (contentType: string | undefined) =>
  contentType !== undefined && /^application\/json\s*(;|$)/i.test(contentType.trim());

const kindOf = (value: unknown) =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;

/**
 * The request's body as a JSON object, or the HttpError that tells the caller what to send:
 * 415 for another content type (or none with no body), 400 for an empty JSON body or JSON that
 * is not an object. `optional`: a request without any body reads as `{}`.
 */
export function jsonObjectBody(
  req: Request,
  options: { example: string; optional?: boolean },
): Record<string, unknown> {
  const declaresBody =
    req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;
  const empty = !declaresBody || req.headers['content-length'] === '0' || emptyBodies.has(req);
  if (options.optional && empty) return {};
  const contentType = req.headers['content-type'];
  if (!isJsonType(contentType)) {
    throw new HttpError(
      415,
      `${contentType ? `unsupported content type ${JSON.stringify(contentType.slice(0, 100))}` : 'no content type and no JSON body'}: send a JSON object with Content-Type: application/json, e.g. ${options.example}`,
    );
  }
  if (empty) {
    throw new HttpError(
      400,
      `the request body is empty; send a JSON object, e.g. ${options.example}`,
    );
  }
  const body: unknown = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(
      400,
      `expected a JSON object as the request body, got ${kindOf(body)}; send e.g. ${options.example}`,
    );
  }
  return body as Record<string, unknown>;
}

/** The 413 for a body over the limit: the limit, the variable that sets it, what to do. */
export function bodyTooLarge(limits: HttpLimits): HttpError {
  return new HttpError(
    413,
    `request body is larger than the ${formatBytes(limits.bodyBytes)} limit (${BODY_LIMIT_VARIABLE}=${limits.bodyBytes}); pass large data by reference (e.g. a URI your workers read) or raise ${BODY_LIMIT_VARIABLE}`,
  );
}
