import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent } from '@conveyor/contracts';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { DefinitionRegistry } from '../definitions/registry';
import type { Engine } from '../engine/engine';
import {
  DEFAULT_HTTP_LIMITS,
  formatBytes,
  jsonBytes,
  LOG_FIELD_LIMIT,
  RUN_INPUT_LIMIT_VARIABLE,
  truncateText,
  type HttpLimits,
} from '../limits';
import { HttpError } from './http-error';
import { bodyTooLarge, jsonBodyParser, jsonObjectBody } from './json-body';
import { buildOpenApi } from './openapi';
import { fanOutItems, runDetail, runSummary, SUMMARY_COLUMNS } from './run-view';
import { CancelBody, ItemsQuery, ListRunsQuery, StartRunBody } from './schemas';

export interface ApiDeps {
  readonly engine: Engine;
  readonly registry: DefinitionRegistry;
  readonly logger: Logger;
  /** Request body and run input limits (default DEFAULT_HTTP_LIMITS). */
  readonly limits?: HttpLimits | undefined;
}

const START_EXAMPLE = '{"input": {…}, "waitMs": 30000}';

// zod says "expected nonoptional, received undefined" for a missing field.
const issueMessage = (i: z.core.$ZodIssue) =>
  i.code === 'invalid_type' && i.expected === 'nonoptional' ? 'required' : i.message;

function parse<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: string,
  hint = '',
): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new HttpError(
      400,
      `invalid ${where}: ${result.error.issues.map((i) => `${i.path.join('.') || where}: ${issueMessage(i)}`).join('; ')}${hint}`,
      result.error.issues.map((i) => ({ path: i.path.join('.'), message: issueMessage(i) })),
    );
  }
  return result.data;
}

type Handler = (req: Request, res: Response) => Promise<void>;
const route = (handler: Handler) => (req: Request, res: Response, next: NextFunction) => {
  handler(req, res).catch(next);
};

const WEB_DIR = join(__dirname, '..', 'web');
const INSPECTOR_HTML = join(WEB_DIR, 'inspector.html');

export function createApiRouter(deps: ApiDeps): express.Router {
  const { engine, registry, logger } = deps;
  const limits = deps.limits ?? DEFAULT_HTTP_LIMITS;
  const router = express.Router();
  router.use(jsonBodyParser(limits));
  const db = engine.db;

  router.get('/openapi.json', (_req, res) => {
    res.json(buildOpenApi());
  });

  router.get('/', (_req, res) => {
    res.type('html').send(readFileSync(INSPECTOR_HTML, 'utf8'));
  });
  // The inspector's script, styles and icon; /favicon.ico for clients that ask without looking.
  router.use('/inspector', express.static(WEB_DIR, { index: false, maxAge: '5m' }));
  router.get('/favicon.ico', (_req, res) => {
    res.type('image/svg+xml').sendFile(join(WEB_DIR, 'favicon.svg'));
  });

  router.get(
    '/api/workflows',
    route(async (_req, res) => {
      res.json({
        workflows: registry.list().map((d) => ({
          name: d.name,
          version: d.version,
          description: d.description ?? null,
          inputSchema: d.inputSchema ?? null,
          timeoutMs: d.timeoutMs ?? null,
          steps: d.steps.map((s) => ({
            name: s.name,
            needs: s.needs,
            ...(s.action.kind === 'queue'
              ? { queue: s.action.queue }
              : { workflow: s.action.workflow }),
            forEach: s.forEach
              ? {
                  items: s.forEach.items.source,
                  concurrency: s.forEach.concurrency,
                  join: s.forEach.join,
                }
              : null,
            when: s.when?.source ?? null,
            timeoutMs: s.timeoutMs,
            retry: s.retry,
          })),
          onFailure: d.onFailure
            ? { queue: d.onFailure.action.kind === 'queue' ? d.onFailure.action.queue : null }
            : null,
        })),
      });
    }),
  );

  router.post(
    '/api/workflows/:name/runs',
    route(async (req, res) => {
      const body = parse(
        StartRunBody,
        jsonObjectBody(req, { example: START_EXAMPLE }),
        'request body',
        `; send e.g. ${START_EXAMPLE}`,
      );
      const inputBytes = jsonBytes(body.input);
      if (inputBytes > limits.runInputBytes)
        throw new HttpError(
          413,
          `run input is ${formatBytes(inputBytes)} as JSON, over the ${formatBytes(limits.runInputBytes)} limit (${RUN_INPUT_LIMIT_VARIABLE}=${limits.runInputBytes}); pass large data by reference (e.g. a URI your workers read) or raise ${RUN_INPUT_LIMIT_VARIABLE}`,
        );
      const result = await engine.startRun({
        workflow: String(req.params.name),
        version: body.version,
        input: body.input ?? null,
        idempotencyKey: body.idempotencyKey,
        callbackUrl: body.callbackUrl,
        priority: body.priority,
      });
      if (result.kind === 'unknown-workflow') throw new HttpError(404, result.message);
      if (result.kind === 'invalid-input') throw new HttpError(400, result.message, result.issues);
      const status = result.kind === 'started' ? 201 : 200;
      res.setHeader('Location', `/api/runs/${result.run.id}`);
      if (body.waitMs !== undefined && body.waitMs > 0) {
        const finished = await engine.waitForRun(result.run.id, body.waitMs);
        const detail = await runDetail(db, result.run.id);
        res
          .status(finished && finished.status !== 'running' ? 200 : 202)
          .json({ created: result.kind === 'started', run: detail });
        return;
      }
      res.status(status).json({ created: result.kind === 'started', run: runSummary(result.run) });
    }),
  );

  router.get(
    '/api/runs',
    route(async (req, res) => {
      const q = parse(ListRunsQuery, req.query, 'query');
      let query = db
        .selectFrom('runs')
        .select(SUMMARY_COLUMNS)
        .orderBy('created_at', 'desc')
        .limit(q.limit);
      if (q.workflow) query = query.where('workflow', '=', q.workflow);
      if (q.status)
        query = query.where('status', '=', q.status === 'pending' ? 'running' : q.status);
      if (q.parent) query = query.where('parent_run_id', '=', q.parent);
      else if (q.includeChildren === 'false') query = query.where('parent_run_id', 'is', null);
      if (q.before !== undefined) query = query.where('created_at', '<', q.before);
      const rows = await query.execute();
      res.json({
        runs: rows.map(runSummary),
        next: rows.length === q.limit ? (rows[rows.length - 1]?.created_at ?? null) : null,
      });
    }),
  );

  router.get(
    '/api/runs/:id',
    route(async (req, res) => {
      const detail = await runDetail(db, String(req.params.id));
      if (!detail) throw new HttpError(404, `no run ${req.params.id}`);
      // The DAG of the version the run executes, for the inspector's graph.
      const def = await registry.get(detail.workflow, detail.version);
      const graph = def?.steps.map((s) => ({
        name: s.name,
        needs: s.needs,
        ...(s.action.kind === 'queue'
          ? { queue: s.action.queue }
          : { workflow: s.action.workflow }),
        forEach: s.forEach !== undefined,
      }));
      res.json({ ...detail, graph });
    }),
  );

  router.get(
    '/api/runs/:id/steps/:step/items',
    route(async (req, res) => {
      const q = parse(ItemsQuery, req.query, 'query');
      const items = await fanOutItems(db, String(req.params.id), String(req.params.step), q);
      if (!items)
        throw new HttpError(
          404,
          `run ${req.params.id} has no started fan-out step ${req.params.step}`,
        );
      res.json(items);
    }),
  );

  router.post(
    '/api/runs/:id/cancel',
    route(async (req, res) => {
      const body = parse(
        CancelBody,
        jsonObjectBody(req, { example: '{"reason": "…"}', optional: true }),
        'request body',
      );
      const outcome = await engine.cancelRun(
        String(req.params.id),
        body.reason ?? 'cancelled through the API',
      );
      if (outcome === 'not-found') throw new HttpError(404, `no run ${req.params.id}`);
      if (outcome === 'already-finished')
        throw new HttpError(409, `run ${req.params.id} has already finished`);
      res.json({ run: await runDetail(db, String(req.params.id)) });
    }),
  );

  router.get(
    '/api/runs/:id/events',
    route(async (req, res) => {
      const runId = String(req.params.id);
      const first = await db
        .selectFrom('runs')
        .select(['id', 'status'])
        .where('id', '=', runId)
        .executeTakeFirst();
      if (!first) throw new HttpError(404, `no run ${runId}`);
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      const send = (name: string, data: unknown) =>
        res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
      let done = false;
      const listening: { unsubscribe?: () => void } = {};
      const finish = () => {
        if (done) return;
        done = true;
        listening.unsubscribe?.();
        clearInterval(keepAlive);
        res.end();
      };
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      req.on('close', finish);
      // Subscribe before reading the snapshot so that no event falls between the two.
      const unsubscribe = await engine.onEvent((event: RunEvent) => {
        if (done || event.runId !== runId) return;
        send(event.event, event);
        if (event.event === 'run.completed') finish();
      });
      if (done) {
        unsubscribe(); // the client left while the subscription was being set up
        return;
      }
      listening.unsubscribe = unsubscribe;
      const snapshot = await runDetail(db, runId);
      send('snapshot', snapshot);
      if (snapshot && snapshot.status !== 'running') {
        send('run.completed', {
          runId,
          status: snapshot.status,
          output: snapshot.output,
          error: snapshot.error,
        });
        finish();
      }
    }),
  );

  router.get(
    '/api/dead-letters',
    route(async (_req, res) => {
      const rows = await db
        .selectFrom('dead_letters')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(100)
        .execute();
      res.json({
        deadLetters: rows.map((r) => ({ ...r, receivedAt: new Date(r.received_at).toISOString() })),
      });
    }),
  );

  router.use('/api', (req, _res, next) =>
    next(
      new HttpError(
        404,
        `no route ${req.method} ${req.originalUrl.split('?')[0]}; see /openapi.json`,
      ),
    ),
  );

  router.use((raw: unknown, req: Request, res: Response, _next: NextFunction) => {
    const error =
      (raw as { type?: string }).type === 'entity.too.large' ? bodyTooLarge(limits) : raw;
    if (error instanceof HttpError) {
      // A client's mistake: one warn line, no stack, and never the client's megabytes.
      logger.warn(
        {
          method: req.method,
          path: req.path,
          status: error.status,
          reason: truncateText(error.message, LOG_FIELD_LIMIT),
        },
        'request refused',
      );
      res.status(error.status).json({
        error: {
          message: error.message,
          ...(error.details !== undefined ? { details: error.details } : {}),
        },
      });
      return;
    }
    const status = (error as { status?: number }).status;
    if (status === 400 || (error as { type?: string }).type === 'entity.parse.failed') {
      const reason = truncateText((error as Error).message, LOG_FIELD_LIMIT);
      logger.warn({ method: req.method, path: req.path, status: 400, reason }, 'malformed request');
      res.status(400).json({ error: { message: `malformed JSON body: ${reason}` } });
      return;
    }
    logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    res.status(500).json({ error: { message: 'internal error; see the orchestrator log' } });
  });
  return router;
}
