import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { createLogger, createObservability, type Observability } from '../src';
import { captureLogs } from './helpers';

/** A listening service with the observability endpoints and a couple of app routes. */
async function startService(options: Partial<Parameters<typeof createObservability>[0]> = {}) {
  const logs = captureLogs();
  const logger = createLogger('test-svc', {
    destination: logs.stream,
    env: { LOG_LEVEL: 'debug' },
  });
  const obs = createObservability({
    service: 'test-svc',
    logger,
    handleSignals: false,
    ...options,
  });
  const app = express();
  obs.mount(app);
  app.get('/items/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  const router = express.Router();
  router.get('/games/:gameId/moves', (_req, res) => {
    res.status(201).json([]);
  });
  app.use('/api', router);
  const server = await obs.listen(app, 0);
  return {
    obs,
    server,
    app,
    logs,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  };
}

describe('observability endpoints over real HTTP', () => {
  let svc: Awaited<ReturnType<typeof startService>>;
  afterEach(async () => {
    await svc?.obs.shutdown('test over');
  });

  it('logs the URL it listens on', async () => {
    svc = await startService();
    expect(svc.logs.lines).toContainEqual(
      expect.objectContaining({ msg: 'test-svc listening', url: svc.url }),
    );
  });

  it('keeps idle connections longer than proxies do (no 502 from a reused closing socket)', async () => {
    svc = await startService();
    expect(svc.server.keepAliveTimeout).toBe(65_000);
    expect(svc.server.headersTimeout).toBeGreaterThan(65_000);
  });

  it('GET /healthz is 200 while running', async () => {
    svc = await startService();
    const res = await request(svc.url).get('/healthz').expect(200);
    expect(res.body).toEqual({ status: 'ok', service: 'test-svc' });
  });

  it('GET /readyz is 200 with per-check results when every check passes', async () => {
    svc = await startService();
    svc.obs.addReadinessCheck('bus', async () => undefined);
    svc.obs.addReadinessCheck('db', () => 'sync checks are fine too');
    const res = await request(svc.url).get('/readyz').expect(200);
    expect(res.body.status).toBe('ready');
    expect(res.body.checks.bus).toEqual({ ok: true, durationMs: expect.any(Number) });
    expect(res.body.checks.db.ok).toBe(true);
  });

  it('GET /readyz is 503 naming the failing and timed-out checks with their errors', async () => {
    svc = await startService({ readinessTimeoutMs: 100 });
    svc.obs.addReadinessCheck('ok', async () => undefined);
    svc.obs.addReadinessCheck('db', async () => {
      throw new Error('connection refused');
    });
    svc.obs.addReadinessCheck('sync-throw', () => {
      throw new Error('boom');
    });
    svc.obs.addReadinessCheck('slow', () => new Promise((r) => setTimeout(r, 1000)));
    const res = await request(svc.url).get('/readyz').expect(503);
    expect(res.body.status).toBe('not ready');
    expect(res.body.failing.sort()).toEqual(['db', 'slow', 'sync-throw']);
    expect(res.body.checks.db).toMatchObject({ ok: false, error: 'connection refused' });
    expect(res.body.checks['sync-throw']).toMatchObject({ ok: false, error: 'boom' });
    expect(res.body.checks.slow).toMatchObject({
      ok: false,
      error: 'readiness check "slow" timed out after 100 ms',
    });
    expect(res.body.checks.ok.ok).toBe(true);
    expect(svc.logs.lines).toContainEqual(
      expect.objectContaining({ level: 'warn', msg: 'readiness: not ready' }),
    );
  });

  it('refuses a readiness check registered twice under one name', async () => {
    svc = await startService();
    svc.obs.addReadinessCheck('db', () => undefined);
    expect(() => svc.obs.addReadinessCheck('db', () => undefined)).toThrow(
      /"db" is already registered/,
    );
  });

  it('GET /metrics serves Prometheus text with process metrics labelled by service', async () => {
    svc = await startService({ version: '1.2.3' });
    const res = await request(svc.url).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toMatch(/^# HELP process_cpu_user_seconds_total/m);
    expect(res.text).toMatch(/^nodejs_heap_size_used_bytes\{service="test-svc"\} \d+/m);
    const info = res.text.split('\n').find((l) => l.startsWith('conveyor_build_info{'));
    expect(info).toContain('version="1.2.3"');
    expect(info).toContain('service="test-svc"');
    expect(info).toMatch(/\} 1$/);
  });

  it('labels the request histogram by route template, never by raw path', async () => {
    svc = await startService();
    await request(svc.url).get('/items/42').expect(200);
    await request(svc.url).get('/items/43').expect(200);
    await request(svc.url).get('/api/games/g-1/moves').expect(201);
    await request(svc.url).get('/no/such/path/9f8e').expect(404);
    const text = (await request(svc.url).get('/metrics').expect(200)).text;
    const count = (labels: string) =>
      Number(
        new RegExp(`^http_request_duration_seconds_count\\{${labels}\\} (\\d+)$`, 'm').exec(
          text,
        )?.[1],
      );
    expect(count('service="test-svc",method="GET",route="/items/:id",status_code="200"')).toBe(2);
    expect(
      count('service="test-svc",method="GET",route="/api/games/:gameId/moves",status_code="201"'),
    ).toBe(1);
    expect(count('service="test-svc",method="GET",route="<unmatched>",status_code="404"')).toBe(1);
    expect(text).not.toContain('/items/42');
    expect(text).not.toContain('9f8e');
  });

  it('GET /debug/vars has cmdline, Go-style memstats, uptime, pid, node and service vars', async () => {
    svc = await startService({ version: '0.0.1' });
    let calls = 0;
    svc.obs.setVar('static', { answer: 42 });
    svc.obs.setVar('counter', () => ++calls);
    svc.obs.setVar('asyncVar', async () => ({ queue: 'jobs', depth: 3 }));
    svc.obs.setVar('broken', () => {
      throw new Error('database gone');
    });
    svc.obs.setVar('big', () => 10n ** 20n);
    const res = await request(svc.url).get('/debug/vars').expect(200);
    const vars = res.body as Record<string, unknown>;
    expect(vars['cmdline']).toEqual(process.argv);
    expect(vars['pid']).toBe(process.pid);
    expect(vars['node']).toBe(process.version);
    expect(vars['service']).toBe('test-svc');
    expect(vars['version']).toBe('0.0.1');
    expect(vars['uptime']).toEqual(expect.any(Number));
    const mem = vars['memstats'] as Record<string, unknown>;
    for (const field of [
      'Alloc',
      'Sys',
      'HeapAlloc',
      'HeapSys',
      'HeapInuse',
      'NumGC',
      'PauseTotalNs',
      'LastGC',
    ]) {
      expect(mem[field]).toEqual(expect.any(Number));
    }
    expect(mem['HeapAlloc']).toBeGreaterThan(0);
    expect(mem['Sys']).toBeGreaterThanOrEqual(mem['HeapSys'] as number);
    expect(vars['static']).toEqual({ answer: 42 });
    expect(vars['counter']).toBe(1);
    expect(vars['asyncVar']).toEqual({ queue: 'jobs', depth: 3 });
    expect(vars['broken']).toEqual({ error: 'database gone' });
    expect(vars['big']).toBe('100000000000000000000');
    // Getters run per request.
    expect((await request(svc.url).get('/debug/vars')).body.counter).toBe(2);
  });

  it('counts garbage collections in memstats', async () => {
    svc = await startService();
    const before = (await request(svc.url).get('/debug/vars')).body.memstats.NumGC as number;
    // Allocate enough short-lived garbage to force several scavenges.
    for (let i = 0; i < 50; i++) new Array(100_000).fill(i).map(String);
    // perf_hooks delivers gc entries asynchronously (a guessed 50 ms sleep here raced them):
    // poll until they are counted; the deadline only stops a broken count from hanging.
    const deadline = Date.now() + 20_000;
    let after = (await request(svc.url).get('/debug/vars')).body.memstats;
    while (after.NumGC <= before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      after = (await request(svc.url).get('/debug/vars')).body.memstats;
    }
    expect(after.NumGC).toBeGreaterThan(before);
    expect(after.PauseTotalNs).toBeGreaterThan(0);
  });

  it('reports a hanging getter as timed out instead of hanging the page', async () => {
    svc = await startService({ varTimeoutMs: 100 });
    svc.obs.setVar('stuck', () => new Promise(() => undefined));
    svc.obs.setVar('fine', () => 'ok');
    const res = await request(svc.url).get('/debug/vars').expect(200);
    expect(res.body.stuck).toEqual({ error: 'debug var "stuck" timed out after 100 ms' });
    expect(res.body.fine).toBe('ok');
  });

  it('refuses setVar on the names the page fills itself', async () => {
    svc = await startService();
    expect(() => svc.obs.setVar('memstats', 1)).toThrow(/"memstats" is reserved/);
    expect(() => svc.obs.setVar('cmdline', 1)).toThrow(/reserved/);
  });

  it('rejects listen on a port in use with an error that says how to fix it', async () => {
    svc = await startService();
    const port = (svc.server.address() as AddressInfo).port;
    const other = createObservability({
      service: 'second',
      logger: createLogger('second', { env: { LOG_LEVEL: 'silent' } }),
      handleSignals: false,
    });
    await expect(other.listen(express(), port)).rejects.toThrow(
      `second cannot listen on 127.0.0.1:${port} (EADDRINUSE): the address is in use; set PORT to a free port`,
    );
    await other.shutdown();
  });
});

describe('programmatic shutdown', () => {
  let svc: Awaited<ReturnType<typeof startService>>;
  afterEach(async () => {
    await svc?.obs.shutdown();
  });

  it('fails /healthz and /readyz, lets in-flight requests finish, refuses new connections, runs hooks in reverse', async () => {
    svc = await startService();
    const { obs, url } = svc;
    const order: string[] = [];
    const { app } = svc;
    // Shutdown starts once the server holds the request, not after a guessed delay.
    let slowArrived!: () => void;
    const slowInFlight = new Promise<void>((resolve) => (slowArrived = resolve));
    app.get('/slow', async (_req, res) => {
      slowArrived();
      await new Promise((r) => setTimeout(r, 400));
      res.json({ done: true });
    });
    obs.onShutdown('db', async () => void order.push('db'));
    obs.onShutdown('bus', async () => {
      await new Promise((r) => setTimeout(r, 20));
      order.push('bus');
    });
    // A keep-alive agent so the probes below reuse the slow request's sibling socket.
    const http = await import('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    const get = (path: string) =>
      new Promise<{ status: number; body: string; connection: string | undefined }>(
        (resolve, reject) => {
          http
            .get(`${url}${path}`, { agent }, (res) => {
              let body = '';
              res.on('data', (c: Buffer) => (body += c.toString()));
              res.on('end', () =>
                resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }),
              );
            })
            .on('error', reject);
        },
      );
    expect((await get('/healthz')).status).toBe(200); // opens a keep-alive socket
    const slow = get('/slow');
    await slowInFlight;
    const done = obs.shutdown('test');
    expect(obs.lifecycle.phase).toBe('shutting-down');
    await new Promise((r) => setTimeout(r, 20));
    // A brand-new connection is refused: the listener is closed.
    await expect(request(url).get('/healthz')).rejects.toThrow(/ECONNREFUSED/);
    const result = await slow;
    expect(result).toMatchObject({ status: 200, body: '{"done":true}', connection: 'close' });
    expect(await done).toEqual({ clean: true });
    expect(order).toEqual(['bus', 'db']);
    expect(obs.lifecycle).toEqual({ phase: 'stopped', reason: 'test', clean: true });
    agent.destroy();
  });

  it('answers 503 on /healthz and /readyz once shutdown has started', async () => {
    svc = await startService({ shutdownDelayMs: 1500 }); // room for two probes on a loaded machine
    const agentReq = request.agent(svc.url);
    await agentReq.get('/readyz').expect(200);
    void svc.obs.shutdown('test');
    // During the delay the listener still accepts, and both probes report the shutdown.
    const ready = await request(svc.url).get('/readyz').expect(503);
    expect(ready.body.status).toBe('shutting down');
    const live = await request(svc.url).get('/healthz').expect(503);
    expect(live.body.status).toBe('shutting-down');
  });

  it('is idempotent and reports a failing or hung hook as unclean, still running the others', async () => {
    svc = await startService({ hookTimeoutMs: 100 });
    const ran: string[] = [];
    svc.obs.onShutdown('first', () => void ran.push('first'));
    svc.obs.onShutdown('throws', () => {
      throw new Error('cannot close');
    });
    svc.obs.onShutdown('hangs', () => new Promise(() => undefined));
    const a = svc.obs.shutdown();
    const b = svc.obs.shutdown();
    expect(a).toBe(b);
    expect(await a).toEqual({ clean: false });
    expect(ran).toEqual(['first']);
    const failures = svc.logs.lines.filter((l) => l['msg'] === 'shutdown: hook failed');
    expect(failures.map((l) => [l['hook'], l['err']])).toEqual([
      ['hangs', 'shutdown hook "hangs" timed out after 100 ms'],
      ['throws', 'cannot close'],
    ]);
  });

  it('cuts requests off at the drain deadline and says so', async () => {
    svc = await startService({ drainTimeoutMs: 150 });
    const { app } = svc;
    let arrived!: () => void;
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    app.get('/forever', () => arrived());
    const pending = request(svc.url)
      .get('/forever')
      .then(
        () => 'answered',
        (e: Error) => e.message,
      );
    await inFlight;
    expect(await svc.obs.shutdown()).toEqual({ clean: false });
    expect(await pending).toMatch(/socket hang up|ECONNRESET/);
    expect(svc.logs.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'shutdown: drain deadline passed, closing connections',
        inFlight: 1,
      }),
    );
  });

  it('refuses to listen after shutdown', async () => {
    svc = await startService();
    await svc.obs.shutdown();
    await expect(svc.obs.listen(express(), 0)).rejects.toThrow(
      'cannot listen: test-svc is stopped',
    );
  });
});

export type { Observability, Server };
