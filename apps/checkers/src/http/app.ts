import express, { type Express, type Request } from 'express';
import type { z } from 'zod';
import { formatFieldErrors, fieldErrors } from '@conveyor/contracts';
import type { Logger, Observability } from '@conveyor/observability';
import { DIFFICULTIES } from '../difficulty';
import type { GameService } from '../game-service';
import { BadRequestError, errorHandler } from './errors';
import { jsonObjectBody } from './json-body';
import { emptyBody, gameIdParam, newGameBody, playMoveBody } from './request-schemas';

/** Largest JSON body accepted: a move request is well under 200 bytes. */
export const BODY_LIMIT_BYTES = 4 * 1024;

export interface AppDependencies {
  readonly games: GameService;
  readonly obs: Observability;
  readonly logger: Logger;
  /** Directory of the built web app (index.html, app.js, styles.css). */
  readonly webDir: string;
}

/** The Express app: JSON API under /api, the web app at /, observability endpoints. */
export function createApp({ games, obs, logger, webDir }: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  obs.mount(app);

  const api = express.Router();
  api.use(jsonObjectBody(BODY_LIMIT_BYTES));

  api.get('/difficulties', (_req, res) => {
    res.json(DIFFICULTIES);
  });
  api.post('/games', async (req, res) => {
    const body = parse(newGameBody, bodyOf(req), 'body');
    res.status(201).json(await games.newGame(body.side, body.difficulty));
  });
  api.get('/games/:id', async (req, res) => {
    res.json(await games.get(gameId(req)));
  });
  api.post('/games/:id/moves', async (req, res) => {
    const id = gameId(req);
    const body = parse(playMoveBody, bodyOf(req), 'body');
    res.json(await games.playHumanMove(id, body.move, body.revision));
  });
  api.post('/games/:id/engine-move', async (req, res) => {
    const id = gameId(req);
    parse(emptyBody, bodyOf(req), 'body');
    res.json(await games.engineMove(id));
  });
  api.post('/games/:id/undo', async (req, res) => {
    const id = gameId(req);
    parse(emptyBody, bodyOf(req), 'body');
    res.json(await games.undo(id));
  });
  api.post('/games/:id/resign', async (req, res) => {
    const id = gameId(req);
    parse(emptyBody, bodyOf(req), 'body');
    res.json(await games.resign(id));
  });
  api.post('/games/:id/draw-claim', async (req, res) => {
    const id = gameId(req);
    parse(emptyBody, bodyOf(req), 'body');
    res.json(await games.claimDraw(id));
  });
  api.get('/games/:id/pdn', async (req, res) => {
    const { filename, text } = await games.pdn(gameId(req));
    // PDN has no registered media type: plain text previews anywhere, the disposition downloads it.
    res.attachment(filename).type('text/plain; charset=utf-8').send(text);
  });
  api.use((req) => {
    throw new BadRequestError(
      `no API route ${req.method} ${req.originalUrl}`,
      [],
      404,
      'no-such-route',
    );
  });
  api.use(errorHandler(logger));
  app.use('/api', api);

  app.use(express.static(webDir, { index: 'index.html', maxAge: '5m' }));
  return app;
}

/** An absent body (no content) counts as `{}` so action endpoints can be POSTed without one. */
function bodyOf(req: Request): unknown {
  return req.body === undefined ? {} : req.body;
}

function gameId(req: Request): string {
  return parse(gameIdParam, req.params['id'], 'id');
}

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = fieldErrors(result.error).map((i) => ({
    ...i,
    path: i.path === '(root)' ? where : `${where}.${i.path}`,
  }));
  throw new BadRequestError(`invalid request ${where}: ${formatFieldErrors(issues)}`, issues);
}
