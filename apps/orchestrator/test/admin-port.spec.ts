import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { defineStepHandler } from '@conveyor/worker-sdk';
import { Profile } from 'pprof-format';
import { configFromEnv } from '../src/config';
import { startSystem, unique } from './harness';

jest.setTimeout(30_000);

describe('ADMIN_PORT: /metrics and /debug/* on their own listener', () => {
  it('reads ADMIN_PORT and ADMIN_HOST, and names them when wrong', () => {
    expect(configFromEnv({}).admin).toBeUndefined();
    expect(configFromEnv({ ADMIN_PORT: '9464', ADMIN_HOST: '0.0.0.0' }).admin).toEqual({
      port: 9464,
      host: '0.0.0.0',
    });
    expect(() => configFromEnv({ ADMIN_PORT: 'admin' })).toThrow(
      'ADMIN_PORT must be a port number from 0 to 65535',
    );
    expect(() => configFromEnv({ ADMIN_HOST: '0.0.0.0' })).toThrow(
      'ADMIN_HOST is set without ADMIN_PORT',
    );
  });

  it('serves the API and probes on PORT, metrics and profiles only on ADMIN_PORT', async () => {
    const q = unique('admin');
    const sys = await startSystem({
      workflows: { 'one.yaml': `name: one\nversion: 1\nsteps:\n  a: { queue: ${q} }\n` },
      handlers: [defineStepHandler({ queue: q, handle: async () => 'a' })],
      config: { admin: { port: 0 } },
    });
    const publicUrl = sys.orchestrator.url;
    const adminServer = sys.orchestrator.obs.adminServer;
    try {
      expect(adminServer).toBeDefined();
      const adminUrl = `http://127.0.0.1:${(adminServer?.address() as AddressInfo).port}`;
      expect(adminUrl).not.toBe(publicUrl);

      expect((await fetch(`${publicUrl}/api/workflows`)).status).toBe(200);
      for (const path of ['/healthz', '/readyz']) {
        expect((await fetch(`${publicUrl}${path}`)).status).toBe(200);
        expect((await fetch(`${adminUrl}${path}`)).status).toBe(200);
      }
      for (const path of ['/metrics', '/debug/vars', '/debug/pprof/', '/debug/pprof/heap']) {
        expect({ path, status: (await fetch(`${publicUrl}${path}`)).status }).toEqual({
          path,
          status: 404,
        });
      }
      expect((await fetch(`${adminUrl}/api/workflows`)).status).toBe(404);

      const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
      expect(metrics).toContain('conveyor_workflow_runs_started_total');
      const vars = (await (await fetch(`${adminUrl}/debug/vars`)).json()) as Record<
        string,
        unknown
      >;
      expect(vars['workflows']).toEqual(['one@1']);
      expect(await (await fetch(`${adminUrl}/debug/pprof/`)).text()).toContain(
        '<a href="heap">heap</a>',
      );
      const heap = await fetch(`${adminUrl}/debug/pprof/heap`);
      expect(heap.status).toBe(200);
      const profile = Profile.decode(gunzipSync(Buffer.from(await heap.arrayBuffer())));
      expect(profile.sample.length).toBeGreaterThan(0);
    } finally {
      await sys.close();
    }
    expect(adminServer?.listening).toBe(false); // graceful shutdown closed the admin listener too
  });
});
