import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@conveyor/observability';
import { parseConfig, start, type SvcProxy } from '../src/main';
import { Browser } from './support/browser';
import { FakePod } from './support/fake-pods';
import { freePort, ALICE } from './support/harness';
import { MockProvider } from './support/oauth';

jest.setTimeout(30_000);

const METRICS_TOKEN = 'm'.repeat(24) + 'etrics-token-0123';

/**
 * DISCOVERY=static: the same proxy, fed from a file instead of informers (the local stack's
 * mode). Routing, refusal of unlisted pods and the landing page must not change.
 */
describe('svc-proxy with a static endpoints file', () => {
  const provider = new MockProvider();
  const pod = new FakePod('127.0.0.6', 'orchestrator-0');
  const hidden = new FakePod('127.0.0.7', 'not-listed');
  let dir: string;
  let file: string;
  let proxy: SvcProxy;
  let browser: Browser;
  let env: Record<string, string>;

  async function signIn(b: Browser): Promise<void> {
    let current = `${proxy.url}/oauth2/start`;
    for (let i = 0; i < 4; i++) {
      if (current.includes('/authorize?')) {
        const u = new URL(current);
        u.searchParams.set('login_hint', 'alice');
        current = u.href;
      }
      const res = await b.request(current);
      await res.arrayBuffer();
      const location = res.headers.get('location');
      if (current.includes('/oauth2/callback')) {
        if (res.status !== 302) throw new Error(`sign-in failed with ${res.status}`);
        return;
      }
      if (!location) throw new Error(`sign-in stopped at ${current} (${res.status})`);
      current = new URL(location, current).href;
    }
  }

  beforeAll(async () => {
    await provider.start();
    provider.register('alice', ALICE);
    const podPort = await pod.start();
    await hidden.start(podPort);
    dir = mkdtempSync(join(tmpdir(), 'svc-proxy-static-'));
    file = join(dir, 'endpoints.yaml');
    writeFileSync(
      file,
      `endpoints:\n  - namespace: local\n    service: orchestrator\n    port: ${podPort}\n    pods:\n      - { name: orchestrator-0, ip: 127.0.0.6, node: laptop }\n`,
    );
    const port = await freePort();
    env = {
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      INSECURE_COOKIE: 'true',
      GOOGLE_CLIENT_ID: 'svc-proxy-test',
      GOOGLE_CLIENT_SECRET: 'test-secret',
      OAUTH_AUTHORIZATION_URL: `${provider.issuer}/authorize`,
      OAUTH_TOKEN_URL: `${provider.issuer}/token`,
      OAUTH_USERINFO_URL: `${provider.issuer}/userinfo`,
      ALLOWED_EMAILS: 'alice@example.com',
      COOKIE_SECRET: 'y'.repeat(40),
      DISCOVERY: 'static',
      STATIC_ENDPOINTS_FILE: file,
      METRICS_BEARER_TOKEN: METRICS_TOKEN,
      LOG_LEVEL: 'silent',
    };
    proxy = await start(parseConfig(env), {
      handleSignals: false,
      logger: createLogger('svc-proxy', { level: 'silent' }),
    });
    browser = new Browser();
    await signIn(browser);
  });

  afterAll(async () => {
    await proxy?.shutdown();
    await pod.stop();
    await hidden.stop();
    await provider.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is ready at once and lists the file in /debug/vars', async () => {
    const ready = await fetch(`${proxy.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { 'static-endpoints': { ok: true } } });
    const vars = (await (await browser.request(`${proxy.url}/debug/vars`)).json()) as Record<
      string,
      unknown
    >;
    expect(vars['informers']).toEqual({
      [`static:${file}`]: { phase: 'synced', since: expect.any(String) },
    });
    expect(vars['targets']).toBe(1);
  });

  it('proxies a listed pod and shows it on the landing page', async () => {
    const res = await browser.request(
      `${proxy.url}/proxy/local/orchestrator/orchestrator-0/debug/vars`,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ pod: 'orchestrator-0' });
    const page = await (await browser.request(`${proxy.url}/`)).text();
    expect(page).toContain('orchestrator-0');
    expect(page).toContain('laptop');
  });

  it('refuses pods the file does not list, even at a listed address', async () => {
    const before = hidden.seen.length;
    const res = await browser.request(
      `${proxy.url}/proxy/local/orchestrator/not-listed/debug/vars`,
    );
    expect(res.status).toBe(404);
    expect(await res.text()).toContain(
      'no ready pod not-listed behind annotated service local/orchestrator',
    );
    expect(
      (await browser.request(`${proxy.url}/proxy/other/orchestrator/orchestrator-0/`)).status,
    ).toBe(404);
    expect(hidden.seen.length).toBe(before);
  });

  it('serves /metrics to the right bearer token only; without one, a browser is sent to sign in', async () => {
    const ok = await fetch(`${proxy.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await ok.text()).toMatch(/^svc_proxy_requests_total\{/m);
    for (const header of [
      `Bearer ${METRICS_TOKEN}x`,
      `Bearer ${METRICS_TOKEN.slice(0, -1)}`,
      `Basic ${METRICS_TOKEN}`,
      'Bearer',
    ]) {
      const refused = await fetch(`${proxy.url}/metrics`, { headers: { authorization: header } });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer /);
    }
    const anonymous = await new Browser().request(`${proxy.url}/metrics`);
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get('location')).toMatch(/^\/oauth2\/start\?rd=/);
    // The token opens /metrics only, not the rest of the operator pages.
    const vars = await new Browser().request(`${proxy.url}/debug/vars`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(vars.status).toBe(302);
    // Signed-in operators still read /metrics with their session.
    expect((await browser.request(`${proxy.url}/metrics`)).status).toBe(200);
  });

  it('refuses to start with an invalid file, naming the problem', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'endpoints:\n  - { namespace: local, service: x, port: 1, pods: [{ name: x-0, ip: example.com }] }\n',
    );
    const port = await freePort();
    await expect(
      start(
        parseConfig({
          ...env,
          PORT: String(port),
          PUBLIC_URL: `http://127.0.0.1:${port}`,
          STATIC_ENDPOINTS_FILE: bad,
        }),
        { handleSignals: false },
      ),
    ).rejects.toThrow(
      /STATIC_ENDPOINTS_FILE .*bad\.yaml is invalid \(1 problem\):\n {2}- endpoints\[0\]\.pods\[0\]\.ip: ip must be an IPv4 or IPv6 address/,
    );
  });
});
