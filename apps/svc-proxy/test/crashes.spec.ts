import http from 'node:http';
import { Agent } from 'undici';
import { SessionCodec } from '../src/auth/session';
import { Browser } from './support/browser';
import { Harness } from './support/harness';
import { headComplete, rawExchange } from './support/raw';
import { echo, openWebSocket } from './support/websocket';

jest.setTimeout(60_000);

/**
 * Requests that used to take the whole process down (or answer 500): every one must end in an
 * answer for that request alone, and the next request must be served.
 */
describe('nothing a signed-in operator sends can crash the proxy', () => {
  const h = new Harness();
  let alice: Browser;
  const healthy = async () => expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  beforeAll(async () => {
    await h.start({ ALLOWED_EMAILS: 'alice@example.com,δ@allowed.com' });
    alice = await h.signedInBrowser();
  });
  afterAll(() => h.stop());
  afterEach(() => jest.restoreAllMocks());

  const wsUrl = (pod: string) => `${h.url.replace('http', 'ws')}/proxy/shop/cart/${pod}/ws`;

  describe('a Trailer header (ERR_HTTP_TRAILER_INVALID in Node once forwarded)', () => {
    it('over HTTP, without and with a chunked body', async () => {
      const cookie = alice.cookieHeader() ?? '';
      const get = await rawExchange(
        h.url,
        `GET /proxy/shop/cart/cart-0/echo HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nTrailer: X-Checksum\r\nTE: trailers\r\nConnection: close\r\n\r\n`,
      );
      expect(get).toMatch(/^HTTP\/1\.1 200/);
      // (The body is the pod's echo of what it received, chunked.)
      expect(get).toContain('"x-forwarded-email":"alice@example.com"');
      expect(get).not.toMatch(/"(trailer|te)":/);
      const post = await rawExchange(
        h.url,
        `POST /proxy/shop/cart/cart-0/echo HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nX-Checksum: 1\r\n\r\n`,
      );
      expect(post).toMatch(/^HTTP\/1\.1 200/);
      expect(post).toContain('"method":"POST"');
      await healthy();
    });

    it('over a WebSocket handshake', async () => {
      const handshake = await rawExchange(
        h.url,
        `GET /proxy/shop/cart/cart-1/ws HTTP/1.1\r\nHost: x\r\nCookie: ${alice.cookieHeader() ?? ''}\r\n` +
          `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
          `Sec-WebSocket-Version: 13\r\nTrailer: X-Checksum\r\n\r\n`,
        headComplete,
      );
      expect(handshake).toMatch(/^HTTP\/1\.1 101/);
      await healthy();
      const { ws } = await openWebSocket(wsUrl('cart-1'), { cookie: alice.cookieHeader() ?? '' });
      expect(await echo(ws, 'still here')).toBe('cart-1: still here');
      ws?.close();
    });
  });

  describe('an identity outside Latin-1 (ERR_INVALID_CHAR in Node as a header value)', () => {
    let delta: Browser;
    beforeAll(async () => {
      h.provider.register('delta', {
        sub: '用户',
        email: 'δ@allowed.com',
        email_verified: true,
        name: 'Δ',
      });
      delta = await h.signedInBrowser('delta');
    });

    it('is carried percent-encoded over HTTP', async () => {
      const res = await delta.request(`${h.url}/proxy/shop/cart/cart-0/echo`);
      expect(res.status).toBe(200);
      const { headers } = (await res.json()) as { headers: Record<string, string> };
      expect(headers['x-forwarded-email']).toBe('%CE%B4@allowed.com');
      expect(headers['x-forwarded-user']).toBe('%E7%94%A8%E6%88%B7');
      expect(decodeURIComponent(headers['x-forwarded-email'] ?? '')).toBe('δ@allowed.com');
      expect(decodeURIComponent(headers['x-forwarded-user'] ?? '')).toBe('用户');
    });

    it('is carried percent-encoded over a WebSocket', async () => {
      const { ws, status } = await openWebSocket(wsUrl('cart-0'), {
        cookie: delta.cookieHeader() ?? '',
      });
      expect(status).toBe(101);
      expect(await echo(ws, 'hi')).toBe('cart-0: hi');
      ws?.close();
      const upgrade = h.pods['cart-0'].seen.filter((r) => r.method === 'UPGRADE').pop();
      expect(upgrade?.headers['x-forwarded-email']).toBe('%CE%B4@allowed.com');
      expect(upgrade?.headers['x-forwarded-user']).toBe('%E7%94%A8%E6%88%B7');
      await healthy();
    });
  });

  describe('an error boundary around every proxied request and upgrade', () => {
    /**
     * Makes the proxy's next upstream HTTP request throw synchronously, as a client library does
     * on input it refuses (HTTP requests go through undici's Agent).
     */
    function injectThrow(): void {
      const original = Agent.prototype.dispatch;
      const spy = jest.spyOn(Agent.prototype, 'dispatch');
      spy.mockImplementation(function (this: Agent, ...args: Parameters<Agent['dispatch']>) {
        const headers = args[0].headers as Record<string, unknown> | undefined;
        if (headers && 'x-forwarded-email' in headers) {
          spy.mockRestore();
          throw new Error('injected failure in the proxy path');
        }
        return original.apply(this, args);
      });
    }

    /** The same for the WebSocket tunnel's handshake request (node:http). */
    function injectThrowInTunnel(): void {
      const original = http.request.bind(http);
      const spy = jest.spyOn(http, 'request');
      spy.mockImplementation(((...args: Parameters<typeof http.request>) => {
        const options = args[0] as http.RequestOptions;
        if (options.headers && 'x-forwarded-email' in options.headers) {
          spy.mockRestore();
          throw new Error('injected failure in the proxy path');
        }
        return original(...args);
      }) as typeof http.request);
    }

    it('answers 502 with an audit line, and serves the next request', async () => {
      injectThrow();
      const failed = await alice.request(`${h.url}/proxy/shop/cart/cart-0/debug/vars`);
      expect(failed.status).toBe(502);
      expect(await failed.text()).toContain('svc-proxy failed to proxy this request');
      await h.waitFor(
        () => h.auditLines().some((l) => l['outcome'] === 'proxy-error'),
        'proxy-error audit line',
      );
      expect(h.auditLines().find((l) => l['outcome'] === 'proxy-error')).toMatchObject({
        status: 502,
        email: 'alice@example.com',
        target: { namespace: 'shop', service: 'cart', pod: 'cart-0' },
        reason: 'internal: injected failure in the proxy path',
      });
      const next = await alice.request(`${h.url}/proxy/shop/cart/cart-0/debug/vars`);
      expect(next.status).toBe(200);
    });

    it("also around relaying the pod's answer, which runs outside any request handler", async () => {
      // Throws once, in the proxy's own writeHead of a proxied answer (it carries Vary: Cookie).
      const original = http.ServerResponse.prototype.writeHead;
      const spy = jest.spyOn(http.ServerResponse.prototype, 'writeHead');
      spy.mockImplementation(function (this: http.ServerResponse, ...args: unknown[]) {
        const headers = args.find((a) => typeof a === 'object' && a !== null && 'vary' in a);
        if (headers) {
          spy.mockRestore();
          throw new Error('injected failure on the answer');
        }
        return (original as (...a: unknown[]) => http.ServerResponse).apply(this, args);
      } as typeof original);
      const failed = await alice.request(`${h.url}/proxy/shop/cart/cart-1/debug/vars`);
      expect(failed.status).toBe(502);
      await h.waitFor(
        () =>
          h.auditLines().some((l) => l['reason'] === 'internal: injected failure on the answer'),
        'proxy-error audit line',
      );
      expect((await alice.request(`${h.url}/proxy/shop/cart/cart-1/debug/vars`)).status).toBe(200);
      await healthy();
    });

    it('also in the front door that hands signed-in /proxy/ requests to the pod proxy', async () => {
      // The front door runs from the server's request event, outside Express's error handling.
      const spy = jest.spyOn(SessionCodec.prototype, 'readCached').mockImplementationOnce(() => {
        throw new Error('injected failure in the front door');
      });
      const failed = await alice.request(`${h.url}/proxy/shop/cart/cart-0/debug/vars`);
      expect(failed.status).toBe(500);
      expect(spy).toHaveBeenCalled();
      expect(h.logs.some((l) => l.msg === 'request failed before reaching the pod proxy')).toBe(
        true,
      );
      expect((await alice.request(`${h.url}/proxy/shop/cart/cart-0/debug/vars`)).status).toBe(200);
      await healthy();
    });

    it('refuses the upgrade with 502, and serves the next WebSocket', async () => {
      injectThrowInTunnel();
      const failed = await openWebSocket(wsUrl('cart-1'), { cookie: alice.cookieHeader() ?? '' });
      expect(failed.status).toBe(502);
      const { ws } = await openWebSocket(wsUrl('cart-1'), { cookie: alice.cookieHeader() ?? '' });
      expect(await echo(ws, 'again')).toBe('cart-1: again');
      ws?.close();
      await healthy();
    });
  });
});
