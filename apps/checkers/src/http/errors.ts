import type { ErrorRequestHandler } from 'express';
import type { Logger } from '@conveyor/observability';
import { GameError, type GameErrorCode } from '../game-errors';
import type { ApiErrorBody } from '../game-view';

/** A request the API refuses before reaching the game logic (bad body, bad id, wrong type…). */
export class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
  constructor(
    message: string,
    readonly issues: readonly { path: string; message: string }[] = [],
    readonly status = 400,
    readonly code = 'bad-request',
  ) {
    super(message);
  }
}

const STATUS: Record<GameErrorCode, number> = {
  'game-not-found': 404,
  'illegal-move': 422,
  'not-your-turn': 409,
  'game-over': 409,
  'nothing-to-undo': 409,
  'draw-not-claimable': 409,
  'stale-revision': 409,
  'engine-timeout': 504,
  'engine-busy': 503,
  'engine-failed': 502,
};

/** body-parser errors carry `type` and `status`; these are the ones a client can cause. */
interface BodyParserError {
  type: string;
  status: number;
  message: string;
  limit?: number;
}

const isBodyParserError = (e: unknown): e is BodyParserError =>
  typeof e === 'object' &&
  e !== null &&
  typeof (e as { type?: unknown }).type === 'string' &&
  'status' in e;

/** Maps every error to a JSON body `{ error: { code, message, … } }` with the right status, and logs it. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    let status: number;
    let body: ApiErrorBody;
    if (error instanceof GameError) {
      status = STATUS[error.code];
      body = {
        error: {
          code: error.code,
          message: error.message,
          ...(error.legalMoves ? { legalMoves: error.legalMoves } : {}),
        },
      };
    } else if (error instanceof BadRequestError) {
      status = error.status;
      body = { error: { code: error.code, message: error.message, issues: error.issues } };
    } else if (isBodyParserError(error) && error.type === 'entity.parse.failed') {
      status = 400;
      body = {
        error: {
          code: 'malformed-json',
          message: `request body is not valid JSON: ${error.message}`,
        },
      };
    } else if (isBodyParserError(error) && error.type === 'entity.too.large') {
      status = 413;
      body = {
        error: {
          code: 'body-too-large',
          message: `request body exceeds the ${error.limit ?? ''} byte limit`,
        },
      };
    } else if (isBodyParserError(error) && error.status >= 400 && error.status < 500) {
      status = error.status;
      body = { error: { code: error.type, message: error.message } };
    } else {
      status = 500;
      body = {
        error: { code: 'internal', message: 'internal error; the server log has the details' },
      };
    }
    const log = { method: req.method, url: req.originalUrl, status, code: body.error.code };
    if (status >= 500) logger.error({ ...log, err: error }, 'request failed');
    else logger.warn({ ...log, reason: body.error.message }, 'request refused');
    res.status(status).json(body);
  };
}
