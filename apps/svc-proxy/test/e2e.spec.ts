import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import WebSocket from 'ws';
import { Browser } from './support/browser';
import { endpointSlice } from './support/fake-kube-api';
import { POD_SANDBOX_CSP } from '../src/proxy/proxy';
import { Harness } from './support/harness';
import { duplicateKeys } from './support/json-keys';

jest.setTimeout(30_000);

function openWebSocket(
  url: string,
  headers: Record<string, string>,
): Promise<{ ws?: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
    ws.once('error', () => resolve({}));
  });
}

describe('svc-proxy end to end', () => {
  const h = new Harness();
  let browser: Browser;
  beforeAll(async () => {
    await h.start();
    browser = await h.signedInBrowser();
  });
  afterAll(() => h.stop());

  describe('sign-in', () => {
    it('uses state and S256 PKCE with the provider, and the token request carries the verifier', async () => {
      const b = new Browser();
      const before = h.provider.tokenRequests.length;
      const { hops, callback } = await h.signIn(b, 'alice', '/proxy/shop/cart/cart-0/debug/vars');
      const authorize = new URL(hops[0]?.location ?? '');
      expect(authorize.origin).toBe(new URL(h.provider.issuer).origin);
      expect(authorize.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
      expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(authorize.searchParams.get('redirect_uri')).toBe(
        `${h.config.publicUrl.origin}/oauth2/callback`,
      );
      expect(authorize.searchParams.get('scope')).toBe('openid email profile');
      expect(callback).toMatchObject({
        status: 302,
        location: '/proxy/shop/cart/cart-0/debug/vars',
      });
      const token = h.provider.tokenRequests.slice(before)[0];
      expect(token?.['code_verifier']).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('sets an HttpOnly, SameSite=Lax cookie, and a new sealed value at sign-in', async () => {
      const b = new Browser();
      const start = await b.request(`${h.url}/oauth2/start`);
      const pending = b.cookies.get('_svc_proxy');
      expect(start.headers.getSetCookie()[0]).toMatch(/HttpOnly/i);
      expect(start.headers.getSetCookie()[0]).toMatch(/SameSite=Lax/i);
      const authorize = new URL(start.headers.get('location') ?? '');
      authorize.searchParams.set('login_hint', 'alice');
      const toCallback = await b.request(authorize.href);
      const callback = await b.request(
        new URL(toCallback.headers.get('location') ?? '', authorize).href,
      );
      expect(callback.status).toBe(302);
      expect(b.cookies.get('_svc_proxy')).not.toBe(pending);
    });

    it('redirects anonymous page requests to sign-in, keeping where they were going', async () => {
      const res = await new Browser().request(`${h.url}/proxy/shop/cart/cart-0/debug/vars`);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(
        '/oauth2/start?rd=%2Fproxy%2Fshop%2Fcart%2Fcart-0%2Fdebug%2Fvars',
      );
    });

    it('answers anonymous API clients with 401', async () => {
      const res = await fetch(`${h.url}/api/targets`, { headers: { accept: 'application/json' } });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: 'authentication required',
        signIn: '/oauth2/start',
      });
    });
  });

  describe('landing page and observability', () => {
    it('lists annotated services and their ready pods with links to debug pages', async () => {
      const res = await browser.request(`${h.url}/`);
      const body = await res.text();
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(body).toContain('Signed in as alice@example.com');
      for (const text of [
        'shop',
        'cart',
        'cart-0',
        'cart-1',
        '127.0.0.2',
        'node-a',
        'ops',
        'agent-0',
        'node-c',
      ])
        expect(body).toContain(text);
      expect(body).toContain('href="/proxy/shop/cart/cart-0/debug/pprof/"');
      expect(body).toContain('href="/proxy/ops/agent/agent-0/metrics"');
      expect(body).not.toContain('db-0');
    });

    it('serves /healthz and /readyz without a session, and nothing else', async () => {
      expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${h.url}/readyz`);
      expect(ready.status).toBe(200);
      for (const path of [
        '/metrics',
        '/debug/vars',
        '/',
        '/api/targets',
        '/HEALTHZ',
        '/healthz/',
        '/healthz/..%2fmetrics',
        '/readyz/../metrics',
      ]) {
        const res = await fetch(`${h.url}${path}`, {
          redirect: 'manual',
          headers: { accept: 'application/json' },
        });
        expect([path, res.status]).toEqual([path, 401]);
      }
    });

    it('serves /metrics and /debug/vars to signed-in operators', async () => {
      const metrics = await browser.request(`${h.url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('svc_proxy_requests_total');
      const vars = await browser.request(`${h.url}/debug/vars`);
      const json = (await vars.json()) as Record<string, unknown>;
      expect(json['targets']).toBe(3);
      expect(json['informers']).toMatchObject({
        services: { phase: 'synced' },
        endpointslices: { phase: 'synced' },
      });
    });

    it('streams target changes to the landing page as pods come and go', async () => {
      const controller = new AbortController();
      const res = await browser.request(`${h.url}/api/targets/events`, {
        signal: controller.signal,
      });
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const reader = res.body?.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      const nextEvent = async (): Promise<{ count: number; html: string }> => {
        for (;;) {
          const end = buffer.indexOf('\n\n');
          if (end !== -1) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (data) return JSON.parse(data.slice(6)) as { count: number; html: string };
            continue;
          }
          const chunk = await reader?.read();
          if (!chunk || chunk.done) throw new Error('stream ended');
          buffer += decoder.decode(chunk.value, { stream: true });
        }
      };
      expect((await nextEvent()).count).toBe(3);
      h.kube.apply(
        'endpointslices',
        endpointSlice(
          'shop',
          'cart',
          [
            { pod: 'cart-0', ip: '127.0.0.2', node: 'node-a' },
            { pod: 'cart-1', ip: '127.0.0.3', node: 'node-b' },
            { pod: 'cart-2', ip: '127.0.0.6', node: 'node-b' },
            { pod: 'cart-3', ip: '127.0.0.7', node: 'node-b', ready: false },
          ],
          [{ name: 'http', port: h.pods['cart-0'].port }],
        ),
      );
      const added = await nextEvent();
      expect(added.count).toBe(4);
      expect(added.html).toContain('cart-2');
      expect(added.html).not.toContain('cart-3');
      h.kube.apply(
        'endpointslices',
        endpointSlice(
          'shop',
          'cart',
          [
            { pod: 'cart-0', ip: '127.0.0.2', node: 'node-a' },
            { pod: 'cart-1', ip: '127.0.0.3', node: 'node-b' },
          ],
          [{ name: 'http', port: h.pods['cart-0'].port }],
        ),
      );
      const removed = await nextEvent();
      expect(removed.count).toBe(3);
      expect(removed.html).not.toContain('cart-2');
      controller.abort();
    });
  });

  describe('proxying', () => {
    it('reaches each pod by name with its annotated port (named and numeric)', async () => {
      const cart0 = await browser.request(`${h.url}/proxy/shop/cart/cart-0/debug/vars`);
      expect(cart0.status).toBe(200);
      expect(((await cart0.json()) as { pod: string }).pod).toBe('cart-0');
      const cart1 = await browser.request(`${h.url}/proxy/shop/cart/cart-1/debug/vars`);
      expect(((await cart1.json()) as { pod: string }).pod).toBe('cart-1');
      const agent = await browser.request(`${h.url}/proxy/ops/agent/agent-0/metrics`);
      expect(await agent.text()).toContain('go_goroutines{pod="agent-0"} 9');
    });

    it("sandboxes pod pages so script from one pod cannot act on the operator's session", async () => {
      const res = await browser.request(`${h.url}/proxy/shop/cart/cart-0/debug/pprof/`);
      expect(res.headers.get('content-security-policy')).toBe(POD_SANDBOX_CSP);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    });

    it('follows Go pprof: 301 to the slash form under the prefix, then relative links', async () => {
      const moved = await browser.request(`${h.url}/proxy/shop/cart/cart-0/debug/pprof`);
      expect(moved.status).toBe(301);
      expect(moved.headers.get('location')).toBe('/proxy/shop/cart/cart-0/debug/pprof/');
      const indexUrl = new URL(moved.headers.get('location') ?? '', h.url).href;
      const index = await browser.request(indexUrl);
      const html = await index.text();
      expect(html).toContain("<a href='goroutine?debug=1'>goroutine</a>");
      const link = new URL('goroutine?debug=1', indexUrl);
      expect(link.pathname).toBe('/proxy/shop/cart/cart-0/debug/pprof/goroutine');
      const profile = await browser.request(link.href);
      expect(await profile.text()).toBe('goroutine profile: total 9 (debug=1) from cart-0\n');
    });

    it('adds the slash to the pod root', async () => {
      const res = await browser.request(`${h.url}/proxy/shop/cart/cart-0`);
      expect(res.status).toBe(301);
      expect(res.headers.get('location')).toBe('/proxy/shop/cart/cart-0/');
    });

    it('rewrites absolute links and Location headers that point at the pod', async () => {
      const res = await browser.request(`${h.url}/proxy/shop/cart/cart-0/links`);
      const html = await res.text();
      expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(html));
      expect(html).toContain('href="/proxy/shop/cart/cart-0/debug/vars"');
      expect(html).toContain('href="/proxy/shop/cart/cart-0/debug/pprof/"');
      expect(html).toContain('href="/proxy/shop/cart/cart-0/static/app.css"');
      expect(html).toContain('action="/proxy/shop/cart/cart-0/debug/pprof/symbol"');
      expect(html).toContain('url=/proxy/shop/cart/cart-0/links');
      expect(html).toContain('<a href="https://example.com/x">ext</a>');
      expect(html).toContain('<a href="rel/path">rel</a>');
      expect(html).toContain('var u = "/not/rewritten";');
      const abs = await browser.request(`${h.url}/proxy/shop/cart/cart-0/redirect-absolute`);
      expect(abs.headers.get('location')).toBe('/proxy/shop/cart/cart-0/debug/vars');
      // Off this origin: refused rather than relayed (the proxy would be an open redirect).
      const elsewhere = await browser.request(`${h.url}/proxy/shop/cart/cart-0/redirect-elsewhere`);
      expect(elsewhere.status).toBe(502);
      expect(elsewhere.headers.get('location')).toBeNull();
      expect(await elsewhere.text()).toContain('redirected to https://example.com/');
    });

    it('waits for long requests such as CPU profiles', async () => {
      const started = Date.now();
      const res = await browser.request(
        `${h.url}/proxy/shop/cart/cart-0/debug/pprof/profile?seconds=2`,
      );
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer())[0]).toBe(0x1f);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    });

    it('streams a large body to the pod and back, byte for byte, with and without a length', async () => {
      // 8 MiB each way: far more than socket buffers hold, so both directions must respect
      // backpressure (a relay that ignores it loses or reorders bytes, or stalls).
      const body = randomBytes(8 * 1024 * 1024);
      const sized = await browser.request(`${h.url}/proxy/shop/cart/cart-0/echo-body`, {
        method: 'POST',
        body,
      });
      expect(sized.status).toBe(200);
      expect(Buffer.from(await sized.arrayBuffer()).equals(body)).toBe(true);
      const chunked = await browser.request(`${h.url}/proxy/shop/cart/cart-0/echo-body`, {
        method: 'POST',
        body: Readable.toWeb(Readable.from([body.subarray(0, 1 << 20), body.subarray(1 << 20)])),
        duplex: 'half',
      } as RequestInit);
      expect(chunked.status).toBe(200);
      expect(Buffer.from(await chunked.arrayBuffer()).equals(body)).toBe(true);
    });

    it('strips identity claims and the session cookie, and adds the signed-in identity', async () => {
      const res = await browser.request(`${h.url}/proxy/shop/cart/cart-0/echo`, {
        headers: {
          cookie: `${browser.cookieHeader()}; pod_pref=dark`,
          'X-Forwarded-Email': 'mallory@evil.com',
          'X-Forwarded_Email': 'mallory@evil.com',
          'X-Forwarded-User': 'mallory',
          X_Forwarded_User: 'mallory',
          'X-Auth-Request-Email': 'mallory@evil.com',
          'Impersonate-User': 'system:admin',
          Authorization: 'Bearer stolen',
        },
      });
      const { headers } = (await res.json()) as { headers: Record<string, string> };
      expect(headers['x-forwarded-user']).toBe('1001');
      expect(headers['x-forwarded-email']).toBe('alice@example.com');
      expect(headers['cookie']).toBe('pod_pref=dark');
      for (const name of Object.keys(headers)) {
        expect([name, headers[name]]).not.toEqual([name, expect.stringContaining('mallory')]);
      }
      expect(headers['x-forwarded_email']).toBeUndefined();
      expect(headers['impersonate-user']).toBeUndefined();
      expect(headers['authorization']).toBeUndefined();
      expect(headers['host']).toBe(`127.0.0.2:${h.pods['cart-0'].port}`);
    });

    it('never lets a pod overwrite the session cookie', async () => {
      const res = await browser.request(`${h.url}/proxy/shop/cart/cart-0/set-cookie`);
      // …and the pod's own cookie is scoped under the pod's prefix.
      expect(res.headers.getSetCookie()).toEqual(['pod_pref=1; Path=/proxy/shop/cart/cart-0/']);
    });

    it('writes an audit line for every proxied request', async () => {
      await browser.request(`${h.url}/proxy/shop/cart/cart-1/metrics`);
      await h.waitFor(
        () => h.auditLines().some((l) => l['path'] === '/proxy/shop/cart/cart-1/metrics'),
        'audit line',
      );
      const raw = h.rawLogs.find((l) => l.includes('"path":"/proxy/shop/cart/cart-1/metrics"'));
      // Parsed by hand first: JSON.parse would keep only the last of two `service` keys.
      expect(duplicateKeys(raw ?? '')).toEqual([]);
      const line = JSON.parse(raw ?? '') as Record<string, unknown>;
      expect(line).toMatchObject({
        audit: true,
        service: 'svc-proxy',
        email: 'alice@example.com',
        target: { namespace: 'shop', service: 'cart', pod: 'cart-1' },
        upstream: `127.0.0.3:${h.pods['cart-1'].port}`,
        method: 'GET',
        status: 200,
        outcome: 'proxied',
      });
      expect(typeof line?.['sid']).toBe('string');
    });

    it('names the pod asked for in the audit line of a refused request', async () => {
      const path = '/proxy/shop/cart/cart-9/debug/vars';
      expect((await browser.request(`${h.url}${path}`)).status).toBe(404);
      const audited = () => h.auditLines().find((l) => l['path'] === path);
      await h.waitFor(() => audited() !== undefined, 'audit line');
      expect(audited()).toMatchObject({
        service: 'svc-proxy',
        target: { namespace: 'shop', service: 'cart', pod: 'cart-9' },
        status: 404,
        outcome: 'refused',
      });
    });

    it('answers 502 with the pod named when it cannot be reached', async () => {
      h.kube.apply('services', {
        metadata: {
          name: 'gone',
          namespace: 'shop',
          annotations: { 'k8s-svc-proxy.local/endpoint-port': '1' },
        },
        spec: { ports: [{ name: 'http', port: 1 }] },
      });
      h.kube.apply(
        'endpointslices',
        endpointSlice(
          'shop',
          'gone',
          [{ pod: 'gone-0', ip: '127.0.0.9' }],
          [{ name: 'http', port: 1 }],
        ),
      );
      await h.waitFor(
        () => h.proxy.directory.find('shop', 'gone', 'gone-0') !== undefined,
        'gone-0 listed',
      );
      const res = await browser.request(`${h.url}/proxy/shop/gone/gone-0/debug/vars`);
      expect(res.status).toBe(502);
      expect(await res.text()).toContain(
        'cannot reach shop/gone/gone-0 (127.0.0.9:1): ECONNREFUSED',
      );
      h.kube.remove('endpointslices', 'shop', 'gone-abcde');
      h.kube.remove('services', 'shop', 'gone');
    });

    it('proxies WebSockets for signed-in users only', async () => {
      const wsUrl = `${h.url.replace('http', 'ws')}/proxy/shop/cart/cart-1/ws`;
      const { ws } = await openWebSocket(wsUrl, { cookie: browser.cookieHeader() ?? '' });
      expect(ws).toBeDefined();
      const reply = await new Promise<string>((resolve) => {
        ws?.once('message', (data) => resolve(String(data)));
        ws?.send('ping');
      });
      expect(reply).toBe('cart-1: ping');
      ws?.close();
      expect((await openWebSocket(wsUrl, {})).status).toBe(401);
      expect(
        (
          await openWebSocket(wsUrl, {
            cookie: browser.cookieHeader() ?? '',
            origin: 'https://evil.example',
          })
        ).status,
      ).toBe(403);
      const toDb = `${h.url.replace('http', 'ws')}/proxy/shop/db/db-0/ws`;
      expect((await openWebSocket(toDb, { cookie: browser.cookieHeader() ?? '' })).status).toBe(
        404,
      );
      expect(h.pods['db-0'].seen).toEqual([]);
    });
  });

  describe('sign-out', () => {
    it('refuses cross-origin sign-out, then signs out and forgets the session', async () => {
      const b = await h.signedInBrowser();
      const cross = await b.request(`${h.url}/oauth2/sign_out`, {
        method: 'POST',
        headers: { origin: 'https://evil.example' },
      });
      expect(cross.status).toBe(403);
      expect((await b.request(`${h.url}/`)).status).toBe(200);
      const out = await b.request(`${h.url}/oauth2/sign_out`, {
        method: 'POST',
        headers: { origin: h.config.publicUrl.origin },
      });
      expect(out.status).toBe(200);
      expect(b.cookies.has('_svc_proxy')).toBe(false);
      expect((await b.request(`${h.url}/`)).status).toBe(302);
    });
  });
});
