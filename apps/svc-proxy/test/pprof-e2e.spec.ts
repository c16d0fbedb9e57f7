import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { parseConfig } from '../src/main';
import type { Browser } from './support/browser';
import { endpointSlice, service } from './support/fake-kube-api';
import { Harness } from './support/harness';

jest.setTimeout(60_000);

/** Burns CPU in this process (which is also svc-proxy's); the profile must name it. */
function spinForProxiedProfile(ms: number): number {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x += Math.sqrt(x + 1);
  return x;
}

/** Names of every function in the profile's samples with a non-zero value. */
function sampledFunctions(gzipped: Buffer): Set<string> {
  const profile = Profile.decode(gunzipSync(gzipped));
  const names = new Map(
    profile.function.map((f) => [String(f.id), profile.stringTable.strings[Number(f.name)] ?? '']),
  );
  const byLocation = new Map(
    profile.location.map((l) => [String(l.id), l.line.map((line) => String(line.functionId))]),
  );
  const found = new Set<string>();
  for (const sample of profile.sample) {
    if (!sample.value.some((v) => Number(v) > 0)) continue;
    for (const id of sample.locationId)
      for (const fn of byLocation.get(String(id)) ?? []) found.add(names.get(fn) ?? '');
  }
  return found;
}

/**
 * svc-proxy's own pod, as the deploy/ manifests describe it: ADMIN_PORT set, the Service's
 * endpoint-port annotation naming the "admin" port. The operator signs in and reads real
 * profiles of it through the proxy; the public port serves none of the debug endpoints.
 */
describe('svc-proxy: real /debug/pprof profiles through the proxy after sign-in', () => {
  const h = new Harness();
  let browser: Browser;
  let adminPort = 0;
  const podPath = '/proxy/ops/svc-proxy/svc-proxy-0';

  beforeAll(async () => {
    // ADMIN_PORT=0: the admin listener takes a port of its own, read back once it listens.
    await h.start({ ADMIN_PORT: '0' });
    adminPort = (h.proxy.obs.adminServer?.address() as AddressInfo).port;
    h.kube.apply(
      'services',
      service('ops', 'svc-proxy', {
        annotation: 'admin',
        ports: [
          { name: 'http', port: 80, targetPort: 'http' },
          { name: 'admin', port: 9090, targetPort: 'admin' },
        ],
      }),
    );
    h.kube.apply(
      'endpointslices',
      endpointSlice(
        'ops',
        'svc-proxy',
        [{ pod: 'svc-proxy-0', ip: '127.0.0.1', node: 'node-c' }],
        [
          { name: 'http', port: Number(new URL(h.url).port) },
          { name: 'admin', port: adminPort },
        ],
      ),
    );
    await h.waitFor(() => h.proxy.directory.list().length === 4, 'the svc-proxy target');
    browser = await h.signedInBrowser();
  });
  afterAll(() => h.stop());

  it('fetches a CPU profile of the pod through the proxy and decodes it', async () => {
    let profiling = false;
    const poll = setInterval(() => {
      void fetch(`http://127.0.0.1:${adminPort}/metrics`)
        .then((r) => r.text())
        .then((text) => {
          if (/^conveyor_pprof_active\{[^}]*profile="profile"[^}]*\} 1$/m.test(text))
            profiling = true;
        });
    }, 50);
    const pending = browser.request(`${h.url}${podPath}/debug/pprof/profile?seconds=2`, {
      headers: { 'sec-fetch-site': 'same-origin' },
    });
    // Spin only once the pod's profiler runs: the request first crosses the proxy.
    await h.waitFor(() => profiling, 'the profile to start');
    for (let i = 0; i < 10; i++) {
      spinForProxiedProfile(100);
      await new Promise((resolve) => setImmediate(resolve));
    }
    clearInterval(poll);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const body = Buffer.from(await res.arrayBuffer());
    expect(sampledFunctions(body)).toContain('spinForProxiedProfile');
  });

  it('fetches a heap profile through the proxy and decodes it', async () => {
    const res = await browser.request(`${h.url}${podPath}/debug/pprof/heap`);
    expect(res.status).toBe(200);
    const profile = Profile.decode(gunzipSync(Buffer.from(await res.arrayBuffer())));
    const types = profile.sampleType.map((t) => profile.stringTable.strings[Number(t.type)]);
    expect(types).toEqual(['inuse_objects', 'inuse_space']);
    expect(profile.sample.length).toBeGreaterThan(0);
  });

  it('links every pod row to a /debug/pprof/ page that exists, whose own links work', async () => {
    const landing = await (await browser.request(`${h.url}/`)).text();
    expect(landing).toContain(`href="${podPath}/debug/pprof/"`);
    const index = await browser.request(`${h.url}${podPath}/debug/pprof/`);
    expect(index.status).toBe(200);
    const html = await index.text();
    const hrefs = [...html.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(hrefs).toEqual(expect.arrayContaining(['heap', 'profile?seconds=30']));
    const heap = await browser.request(new URL('heap', `${h.url}${podPath}/debug/pprof/`).href);
    expect(heap.status).toBe(200);
  });

  it('keeps the debug endpoints off the public port once ADMIN_PORT is set', async () => {
    for (const path of ['/metrics', '/debug/vars', '/debug/pprof/', '/debug/pprof/heap']) {
      const res = await browser.request(`${h.url}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    const admin = `http://127.0.0.1:${adminPort}`;
    expect((await fetch(`${admin}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${admin}/metrics`)).text()).toContain('service="svc-proxy"');
  });

  it('refuses ADMIN_PORT together with METRICS_BEARER_TOKEN', () => {
    expect(() =>
      parseConfig({
        PUBLIC_URL: 'https://debug.example.com',
        GOOGLE_CLIENT_ID: 'id',
        GOOGLE_CLIENT_SECRET: 'secret',
        ALLOWED_DOMAINS: 'example.com',
        COOKIE_SECRET: 'x'.repeat(40),
        ADMIN_PORT: '9090',
        METRICS_BEARER_TOKEN: 't'.repeat(40),
      }),
    ).toThrow('METRICS_BEARER_TOKEN and ADMIN_PORT are both set');
  });
});
