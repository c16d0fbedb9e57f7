import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { z } from 'zod';
import {
  adminEnvShape,
  adminListenerFrom,
  checkAdminEnv,
  createLogger,
  createObservability,
} from '../src';
import { decodePprof, fetchBuffer, startProfiledService } from './pprof-support';

describe('admin listener (ADMIN_PORT)', () => {
  it('moves /metrics, /debug/vars and /debug/pprof to the admin port; the app port answers 404', async () => {
    const svc = await startProfiledService({ admin: { port: 0 } });
    try {
      expect(svc.adminUrl).toBeDefined();
      const admin = svc.adminUrl as string;
      for (const path of [
        '/metrics',
        '/debug/vars',
        '/debug/pprof',
        '/debug/pprof/',
        '/debug/pprof/heap',
        '/debug/pprof/profile?seconds=1',
        '/debug/pprof/nonsense',
      ]) {
        const res = await fetch(`${svc.url}${path}`, { redirect: 'manual' });
        expect({ path, status: res.status }).toEqual({ path, status: 404 });
        expect(await res.text()).toContain('is not served on this port (it is on the admin port)');
      }
      expect((await fetch(`${svc.url}/debug/pprof/heap`, { method: 'POST' })).status).toBe(404);

      expect((await fetch(`${admin}/metrics`)).status).toBe(200);
      const vars = (await (await fetch(`${admin}/debug/vars`)).json()) as Record<string, unknown>;
      expect(vars['service']).toBe('pprof-svc');
      expect((await fetch(`${admin}/debug/pprof/`)).status).toBe(200);
      const heap = await fetchBuffer(`${admin}/debug/pprof/heap`);
      expect(heap.status).toBe(200);
      expect(decodePprof(heap.body).sampleTypes).toContain('inuse_space/bytes');

      // Probes stay on the app port (kubelet probes it) and are mirrored on the admin port.
      for (const base of [svc.url, admin]) {
        expect((await fetch(`${base}/healthz`)).status).toBe(200);
        expect((await fetch(`${base}/readyz`)).status).toBe(200);
      }
      // The app's own routes are only on the app port.
      expect((await fetch(`${svc.url}/hello`)).status).toBe(200);
      const notHere = await fetch(`${admin}/hello`);
      expect(notHere.status).toBe(404);
      expect(await notHere.text()).toContain('not served on the admin port');

      // Requests on the admin port are in the request histogram too.
      expect(await (await fetch(`${admin}/metrics`)).text()).toMatch(
        /http_request_duration_seconds_count\{service="pprof-svc",method="GET",route="\/debug\/vars",status_code="200"\} 1/,
      );
    } finally {
      const outcome = await svc.obs.shutdown('test over');
      expect(outcome.clean).toBe(true);
    }
    // Shutdown closed both listeners.
    expect(svc.obs.adminServer?.listening).toBe(false);
    await expect(fetch(`${svc.adminUrl}/healthz`)).rejects.toThrow();
    await expect(fetch(`${svc.url}/healthz`)).rejects.toThrow();
  });

  it('keeps everything on the app port when no admin listener is configured', async () => {
    const svc = await startProfiledService();
    try {
      expect(svc.obs.adminServer).toBeUndefined();
      for (const path of ['/metrics', '/debug/vars', '/debug/pprof/'])
        expect((await fetch(`${svc.url}${path}`)).status).toBe(200);
    } finally {
      await svc.obs.shutdown('test over');
    }
  });

  it('says which variable to fix when the admin port is taken or equals the app port', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as AddressInfo).port;
    const logger = createLogger('t', { env: { LOG_LEVEL: 'silent' } });
    try {
      const obs = createObservability({
        service: 'admin-taken',
        logger,
        handleSignals: false,
        admin: { port: taken },
      });
      const app = express();
      obs.mount(app);
      await expect(obs.listen(app, 0)).rejects.toThrow(
        `admin-taken cannot listen on 127.0.0.1:${taken} (EADDRINUSE): the address is in use; set ADMIN_PORT to a free port`,
      );
      await obs.shutdown('test over');

      const same = createObservability({
        service: 'admin-same',
        logger,
        handleSignals: false,
        admin: { port: 4321 },
      });
      const app2 = express();
      same.mount(app2);
      await expect(same.listen(app2, 4321)).rejects.toThrow(
        'ADMIN_PORT (4321) must differ from PORT',
      );
      await same.shutdown('test over');
    } finally {
      blocker.close();
    }
  });
});

describe('ADMIN_PORT / ADMIN_HOST parsing', () => {
  const schema = z.object({ ...adminEnvShape }).superRefine(checkAdminEnv);
  const parse = (env: Record<string, string>) => schema.safeParse(env);

  it('is unset (everything on PORT) when neither is set or both are empty', () => {
    for (const env of [{} as Record<string, string>, { ADMIN_PORT: '', ADMIN_HOST: ' ' }]) {
      const parsed = parse(env);
      expect(parsed.success && adminListenerFrom(parsed.data)).toBeUndefined();
    }
  });

  it('gives the admin listener, host defaulting to the app host', () => {
    const parsed = parse({ ADMIN_PORT: '9090' });
    expect(parsed.success && adminListenerFrom(parsed.data)).toEqual({
      port: 9090,
      host: undefined,
    });
    const both = parse({ ADMIN_PORT: '9090', ADMIN_HOST: '0.0.0.0' });
    expect(both.success && adminListenerFrom(both.data)).toEqual({ port: 9090, host: '0.0.0.0' });
  });

  it.each(['abc', '70000', '-1', '80.5'])('refuses ADMIN_PORT=%s, saying what it must be', (v) => {
    const parsed = parse({ ADMIN_PORT: v });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toContain('ADMIN_PORT must be a port number');
  });

  it('refuses ADMIN_HOST without ADMIN_PORT', () => {
    const parsed = parse({ ADMIN_HOST: '0.0.0.0' });
    expect(parsed.error?.issues[0]?.message).toBe(
      'ADMIN_HOST is set without ADMIN_PORT: set ADMIN_PORT too, or unset ADMIN_HOST',
    );
  });
});
