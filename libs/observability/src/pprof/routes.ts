import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { errorMessage } from '../timeouts';
import {
  acquireProfiler,
  captureHeap,
  captureTime,
  type Capture,
  type ProfileKind,
  type RunningProfile,
} from './capture';
import { indexPage } from './index-page';

export const DEFAULT_PROFILE_SECONDS = 30;
export const MAX_PROFILE_SECONDS = 120;

export interface PprofRouterOptions {
  readonly registry: Registry;
  readonly logger: Logger;
  /** Aborts profiles in progress (shutdown must not wait up to two minutes for one). */
  readonly shutdownSignal: AbortSignal;
}

type Outcome = 'completed' | 'busy' | 'cancelled' | 'bad_request' | 'failed';

type SecondsParam =
  { readonly ok: true; readonly seconds: number } | { readonly ok: false; readonly error: string };

/** `seconds` as Go's handler takes it, but bounded: a whole number from 1 to 120. */
export function parseSeconds(raw: unknown): SecondsParam {
  if (raw === undefined) return { ok: true, seconds: DEFAULT_PROFILE_SECONDS };
  const bound = `a whole number of seconds from 1 to ${MAX_PROFILE_SECONDS}`;
  if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw))
    return { ok: false, error: `seconds=${JSON.stringify(raw)} is not ${bound}` };
  const seconds = Number(raw);
  if (seconds < 1 || seconds > MAX_PROFILE_SECONDS)
    return { ok: false, error: `seconds=${seconds} is out of range: use ${bound}` };
  return { ok: true, seconds };
}

/**
 * GET /debug/pprof/ (index), /debug/pprof/profile, /debug/pprof/wall and /debug/pprof/heap, in
 * pprof's gzipped protobuf format so `go tool pprof` and its web UI read them unchanged.
 */
export function pprofRouter(options: PprofRouterOptions): Router {
  const { registry, logger, shutdownSignal } = options;
  const requests = new Counter({
    name: 'conveyor_pprof_requests_total',
    help: 'Requests for /debug/pprof profiles, by profile and outcome (completed, busy = 429, cancelled, bad_request, failed)',
    labelNames: ['profile', 'outcome'] as const,
    registers: [registry],
  });
  const active = new Gauge({
    name: 'conveyor_pprof_active',
    help: '1 while this service is recording a profile, by profile',
    labelNames: ['profile'] as const,
    registers: [registry],
  });
  const count = (profile: ProfileKind, outcome: Outcome) => requests.inc({ profile, outcome });

  // Strict, so /debug/pprof (no slash) is redirected: the index page's links are relative, which
  // keeps them right behind svc-proxy's /proxy/<ns>/<svc>/<pod>/ prefix.
  const router = express.Router({ strict: true, caseSensitive: true });

  router.get('/debug/pprof', (_req: Request, res: Response) => {
    res.redirect(301, 'pprof/');
  });
  router.get('/debug/pprof/', (_req: Request, res: Response) => {
    res.set('cache-control', 'no-store').type('text/html').send(indexPage());
  });

  async function serve(
    kind: ProfileKind,
    seconds: number,
    req: Request,
    res: Response,
    capture: (signal: AbortSignal) => Promise<Capture>,
  ) {
    const slot = acquireProfiler(kind, seconds);
    if (!slot.acquired) {
      count(kind, 'busy');
      const retryAfter = secondsLeft(slot.running);
      logger.warn({ profile: kind, running: slot.running }, 'pprof: profiler busy, refused');
      res
        .status(429)
        .set('retry-after', String(retryAfter))
        .type('text/plain')
        .send(
          `${busyMessage(slot.running)}: only one profile runs at a time in a process. ` +
            `Retry in about ${retryAfter} s.\n`,
        );
      return;
    }
    const clientGone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) clientGone.abort();
    });
    active.set({ profile: kind }, 1);
    const started = Date.now();
    try {
      const result = await capture(AbortSignal.any([clientGone.signal, shutdownSignal]));
      if (result.outcome === 'cancelled') {
        count(kind, 'cancelled');
        const why = clientGone.signal.aborted ? 'client went away' : 'service shutting down';
        logger.info(
          { profile: kind, seconds, ranMs: Date.now() - started, why },
          'pprof: profile cancelled',
        );
        if (!res.headersSent && !clientGone.signal.aborted)
          res
            .status(503)
            .type('text/plain')
            .send('profile cancelled: the service is shutting down\n');
        return;
      }
      count(kind, 'completed');
      logger.info(
        { profile: kind, seconds, bytes: result.gzipped.length, path: req.path },
        'pprof: profile sent',
      );
      res
        .status(200)
        .set({
          'content-type': 'application/octet-stream',
          'content-disposition': `attachment; filename="${kind}"`,
          'x-content-type-options': 'nosniff',
          'cache-control': 'no-store',
        })
        .send(result.gzipped);
    } catch (error) {
      count(kind, 'failed');
      logger.error({ profile: kind, err: errorMessage(error) }, 'pprof: profile failed');
      if (!res.headersSent)
        res
          .status(500)
          .type('text/plain')
          .send(`could not record the ${kind} profile: ${errorMessage(error)}\n`);
    } finally {
      active.set({ profile: kind }, 0);
      slot.release();
    }
  }

  for (const kind of ['profile', 'wall'] as const) {
    router.get(`/debug/pprof/${kind}`, async (req: Request, res: Response) => {
      const parsed = parseSeconds(req.query['seconds']);
      if (!parsed.ok) {
        count(kind, 'bad_request');
        logger.warn({ profile: kind, query: req.query }, `pprof: ${parsed.error}`);
        res.status(400).type('text/plain').send(`${parsed.error}\n`);
        return;
      }
      await serve(kind, parsed.seconds, req, res, (signal) =>
        captureTime(kind, parsed.seconds, signal),
      );
    });
  }
  router.get('/debug/pprof/heap', async (req: Request, res: Response) => {
    await serve('heap', 0, req, res, () => captureHeap());
  });
  router.get('/debug/pprof/{*rest}', (req: Request, res: Response) => {
    res
      .status(404)
      .type('text/plain')
      .send(`unknown profile ${JSON.stringify(req.path)}; the list is at /debug/pprof/\n`);
  });
  return router;
}

function secondsLeft(running: RunningProfile): number {
  const left = running.startedAt + running.seconds * 1000 - Date.now();
  return Math.max(1, Math.ceil(left / 1000));
}

function busyMessage(running: RunningProfile): string {
  if (running.kind === 'other') return "V8's profiler is in use by other code in this process";
  if (running.kind === 'heap') return 'a heap profile is being written';
  const since = Math.round((Date.now() - running.startedAt) / 1000);
  return `a ${running.seconds} s ${running.kind === 'profile' ? 'CPU' : running.kind} profile started ${since} s ago is still running`;
}
