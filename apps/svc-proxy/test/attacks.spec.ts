import { request as httpRequest } from 'node:http';
import { sealData } from 'iron-session';
import { safeRedirectPath } from '../src/auth/redirect';
import { Browser } from './support/browser';
import { ALICE, Harness } from './support/harness';
import { isSafeLocalRedirect, openRedirectPayloads } from './support/payloads';
import { headComplete, rawExchange } from './support/raw';

jest.setTimeout(120_000);

/** Sends a request with the path exactly as given (fetch would normalise `..`). */
function rawGet(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; location?: string; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname,
        port,
        path,
        method: 'GET',
        headers: { accept: 'application/json', ...headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            ...(res.headers.location ? { location: res.headers.location } : {}),
            body,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function inBatches<T>(
  items: readonly T[],
  size: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

describe('attack corpus', () => {
  const h = new Harness();
  let alice: Browser;
  beforeAll(async () => {
    await h.start();
    alice = await h.signedInBrowser();
  });
  afterAll(() => h.stop());

  describe('open redirects through the real sign-in flow', () => {
    const payloads = openRedirectPayloads();
    // What the server receives as `rd`: the payload itself, and the payload URL-encoded once more.
    const variants: [string, (p: string) => string][] = [
      ['raw', (p) => p],
      ['URL-encoded', (p) => encodeURIComponent(p)],
    ];

    it.each(variants)(
      'every one of the 559 payloads (%s) ends on a safe local path',
      async (_label, variant) => {
        expect(payloads).toHaveLength(559);
        const unsafe: string[] = [];
        const mismatched: string[] = [];
        await inBatches(payloads, 12, async (payload) => {
          const rd = variant(payload);
          const { callback } = await h.signIn(new Browser(), 'alice', rd);
          const location = callback?.location ?? '<no callback>';
          if (callback?.status !== 302 || !isSafeLocalRedirect(location, h.config.publicUrl.origin))
            unsafe.push(`${JSON.stringify(rd)} -> ${callback?.status} ${location}`);
          if (location !== safeRedirectPath(rd, h.config.publicUrl.origin))
            mismatched.push(`${JSON.stringify(rd)} -> ${location}`);
        });
        expect(unsafe).toEqual([]);
        expect(mismatched).toEqual([]);
      },
    );

    it('also survives payloads pasted into the query string unencoded', async () => {
      const unsafe: string[] = [];
      await inBatches(payloads, 12, async (payload) => {
        const browser = new Browser();
        let url: string;
        try {
          url = new URL(`${h.url}/oauth2/start?rd=${payload}`).href;
        } catch {
          return; // not even a URL a browser would send
        }
        const res = await browser.request(url);
        await res.arrayBuffer();
        const authorize = new URL(res.headers.get('location') ?? '');
        authorize.searchParams.set('login_hint', 'alice');
        const toCallback = await browser.request(authorize.href);
        await toCallback.arrayBuffer();
        const callback = await browser.request(
          new URL(toCallback.headers.get('location') ?? '', authorize).href,
        );
        await callback.arrayBuffer();
        const location = callback.headers.get('location') ?? '';
        if (callback.status !== 302 || !isSafeLocalRedirect(location, h.config.publicUrl.origin))
          unsafe.push(`${payload} -> ${location}`);
      });
      expect(unsafe).toEqual([]);
    });

    it('logs refused redirect targets', () => {
      expect(
        h.logs.some(
          (l) =>
            l.msg === 'post-login redirect refused; using /' &&
            String(l['reason']).includes('protocol-relative'),
        ),
      ).toBe(true);
    });
  });

  describe('identities the provider vouches for, that must still be refused', () => {
    it.each([
      ['an unverified email', { sub: '2', email: 'alice@example.com', email_verified: false }],
      [
        'email_verified as a string',
        { sub: '3', email: 'alice@example.com', email_verified: 'true' },
      ],
      ['no email_verified at all', { sub: '4', email: 'alice@example.com' }],
      ['two @ signs', { sub: '5', email: 'alice@example.com@evil.com', email_verified: true }],
      [
        'an allowed domain after a second @',
        { sub: '6', email: 'eve@evil.com@ops.example.com', email_verified: true },
      ],
      [
        'a quoted local part',
        { sub: '7', email: '"alice@example.com"@evil.com', email_verified: true },
      ],
      ['a look-alike domain', { sub: '8', email: 'eve@evilops.example.com', email_verified: true }],
      [
        'the allowed domain as a prefix',
        { sub: '9', email: 'eve@ops.example.com.evil.com', email_verified: true },
      ],
      ['no email', { sub: '10' }],
      [
        'someone not on the allow-list',
        { sub: '11', email: 'mallory@example.org', email_verified: true },
      ],
    ])('refuses %s', async (_label, user) => {
      h.provider.register(`user-${user.sub}`, user);
      const browser = new Browser();
      const { callback } = await h.signIn(browser, `user-${user.sub}`);
      expect(callback?.status).toBe(403);
      const after = await browser.request(`${h.url}/`);
      expect(after.status).toBe(302);
      expect(after.headers.get('location')).toBe('/oauth2/start?rd=%2F');
    });

    it('allows by domain and by case-insensitive address', async () => {
      h.provider.register('carol', {
        sub: '20',
        email: 'carol@ops.example.com',
        email_verified: true,
      });
      h.provider.register('bob', { sub: '21', email: 'bob@partner.example', email_verified: true });
      expect((await h.signIn(new Browser(), 'carol')).callback?.status).toBe(302);
      expect((await h.signIn(new Browser(), 'bob')).callback?.status).toBe(302);
    });
  });

  describe('sign-in state and PKCE', () => {
    async function startFlow(browser: Browser): Promise<string> {
      const start = await browser.request(`${h.url}/oauth2/start`);
      const authorize = new URL(start.headers.get('location') ?? '');
      authorize.searchParams.set('login_hint', 'alice');
      const toCallback = await browser.request(authorize.href);
      return new URL(toCallback.headers.get('location') ?? '', authorize).href;
    }

    it('refuses a callback whose state does not match', async () => {
      const browser = new Browser();
      const callback = new URL(await startFlow(browser));
      callback.searchParams.set('state', 'forged-state-value');
      const res = await browser.request(callback.href);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('does not match');
    });

    it('refuses a callback in a browser that did not start the sign-in (login CSRF)', async () => {
      const callback = await startFlow(new Browser());
      const victim = new Browser();
      const res = await victim.request(callback);
      expect(res.status).toBe(400);
      expect(victim.cookies.has('_svc_proxy')).toBe(false);
    });

    it('refuses a replayed callback', async () => {
      const browser = new Browser();
      const callback = await startFlow(browser);
      const first = await browser.request(callback);
      expect(first.status).toBe(302);
      const replay = await browser.request(callback);
      expect(replay.status).toBe(400);
    });
  });

  describe('cookies', () => {
    const cookieName = '_svc_proxy';
    const expectAnonymous = async (cookie: string) => {
      const res = await fetch(`${h.url}/proxy/shop/cart/cart-0/debug/vars`, {
        headers: { cookie, accept: 'application/json' },
        redirect: 'manual',
      });
      expect(res.status).toBe(401);
    };

    it('refuses forged cookies', async () => {
      await expectAnonymous(`${cookieName}=forged`);
      await expectAnonymous(`${cookieName}=Fe26.2**deadbeef*aaaa*bbbb**cccc*dddd`);
      await expectAnonymous(`${cookieName}=${'A'.repeat(3000)}`);
    });

    it('refuses tampered cookies', async () => {
      const valid = alice.cookies.get(cookieName) ?? '';
      expect(valid.startsWith('Fe26.2*')).toBe(true);
      const parts = valid.split('*');
      const ciphertext = parts[4] ?? '';
      parts[4] = (ciphertext[0] === 'A' ? 'B' : 'A') + ciphertext.slice(1);
      await expectAnonymous(`${cookieName}=${parts.join('*')}`);
      const hmac = parts[parts.length - 1] ?? '';
      await expectAnonymous(
        `${cookieName}=${valid.slice(0, -hmac.length)}${hmac.split('').reverse().join('')}`,
      );
      expect(h.logs.some((l) => String(l.msg).startsWith('session cookie rejected'))).toBe(true);
    });

    it('refuses cookies sealed with another secret', async () => {
      const user = {
        sid: 'x',
        subject: ALICE.sub,
        email: 'alice@example.com',
        signedInAt: Date.now(),
      };
      await expectAnonymous(
        `${cookieName}=${await sealData({ user }, { password: 'y'.repeat(40), ttl: 3600 })}`,
      );
    });

    it('refuses expired cookies (seal expiry and session age)', async () => {
      const password = { '1': 'x'.repeat(40) };
      const user = {
        sid: 'x',
        subject: ALICE.sub,
        email: 'alice@example.com',
        signedInAt: Date.now(),
      };
      // Sanity: the same construction with a live session is accepted, so the refusals below mean something.
      const live = await sealData({ user }, { password, ttl: 3600 });
      const ok = await fetch(`${h.url}/proxy/shop/cart/cart-0/debug/vars`, {
        headers: { cookie: `${cookieName}=${live}` },
      });
      expect(ok.status).toBe(200);
      await expectAnonymous(`${cookieName}=${await sealData({ user }, { password, ttl: -3600 })}`);
      const old = { ...user, signedInAt: Date.now() - (h.config.session.ttlSeconds + 60) * 1000 };
      await expectAnonymous(
        `${cookieName}=${await sealData({ user: old }, { password, ttl: 3600 })}`,
      );
    });

    it('signs out a user removed from the allow-list', async () => {
      const password = { '1': 'x'.repeat(40) };
      const user = { sid: 'x', subject: '99', email: 'former@example.com', signedInAt: Date.now() };
      const sealed = await sealData({ user }, { password, ttl: 3600 });
      const res = await fetch(`${h.url}/`, { headers: { cookie: `${cookieName}=${sealed}` } });
      expect(res.status).toBe(403);
    });
  });

  describe('reaching anything but annotated pods', () => {
    const podRequests = () => h.totalPodRequests();

    it.each([
      ['a non-annotated service', '/proxy/shop/db/db-0/debug/vars', 404],
      ['an unknown pod', '/proxy/shop/cart/cart-9/debug/vars', 404],
      ['a pod under the wrong service', '/proxy/shop/cart/agent-0/debug/vars', 404],
      ['a pod under the wrong namespace', '/proxy/ops/cart/cart-0/debug/vars', 404],
      ['a pod IP as pod name', '/proxy/shop/cart/127.0.0.4/debug/vars', 404],
      ['an IP:port as pod name', '/proxy/shop/cart/127.0.0.4:8080/debug/vars', 404],
      ['userinfo in the pod name', '/proxy/shop/cart/cart-0@127.0.0.4/debug/vars', 404],
      ['encoded traversal', '/proxy/shop/cart/cart-0/..%2f..%2f..%2fdb/db-0/debug/vars', 400],
      ['upper-case encoded traversal', '/proxy/shop/cart/cart-0/..%2F..%2Fdb/db-0/debug/vars', 400],
      ['double-encoded traversal', '/proxy/shop/cart/cart-0/..%252f..%252fdb/db-0/debug/vars', 400],
      ['encoded dots', '/proxy/shop/cart/cart-0/%2e%2e/%2e%2e/db/db-0/debug/vars', 400],
      ['plain dot segments', '/proxy/shop/cart/cart-0/../../db/db-0/debug/vars', 400],
      ['backslashes', '/proxy/shop/cart/cart-0/..\\..\\db\\db-0/debug/vars', 400],
      ['encoded backslashes', '/proxy/shop/cart/cart-0/..%5c..%5cdb/db-0/debug/vars', 400],
      ['a NUL byte', '/proxy/shop/cart/cart-0/debug/vars%00', 400],
      ['traversal out of the prefix entirely', '/proxy/../metrics', 400],
    ])('refuses %s', async (_label, path, status) => {
      const before = podRequests();
      const res = await rawGet(h.url, path, { cookie: alice.cookieHeader() ?? '' });
      expect(res.status).toBe(status);
      expect(res.body).toContain('svc-proxy:');
      expect(podRequests()).toBe(before);
      await h.waitFor(
        () => h.auditLines().some((l) => l['path'] === path && l['outcome'] === 'refused'),
        `audit of ${path}`,
      );
    });

    it('ignores Host, absolute-form targets and X-Forwarded-Host when choosing the upstream', async () => {
      const before = h.pods['db-0'].seen.length;
      const target = `127.0.0.4:${h.pods['db-0'].port}`;
      const viaHost = await rawGet(h.url, '/proxy/shop/cart/cart-0/echo', {
        cookie: alice.cookieHeader() ?? '',
        host: target,
        'x-forwarded-host': target,
      });
      expect(viaHost.status).toBe(200);
      expect(JSON.parse(viaHost.body).headers.host).toBe(`127.0.0.2:${h.pods['cart-0'].port}`);
      const absolute = await rawGet(h.url, `http://${target}/debug/vars`, {
        cookie: alice.cookieHeader() ?? '',
      });
      expect(absolute.status).toBe(400);
      expect(absolute.body).toContain('not a forward proxy');
      const connectReply = await rawExchange(
        h.url,
        `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\ncookie: ${alice.cookieHeader()}\r\n\r\n`,
        headComplete,
      );
      expect(connectReply).not.toMatch(/^HTTP\/1\.1 200/);
      expect(h.pods['db-0'].seen.length).toBe(before);
    });

    it('never forwards requests that smuggle a second request', async () => {
      const before = podRequests();
      const cookie = alice.cookieHeader() ?? '';
      const smuggled = 'GET /proxy/shop/db/db-0/debug/vars HTTP/1.1\r\nHost: x\r\n\r\n';
      const clte = await rawExchange(
        h.url,
        `POST /proxy/shop/cart/cart-0/echo HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
        headComplete,
      );
      expect(clte).toMatch(/^HTTP\/1\.1 400/);
      const duplicateLength = await rawExchange(
        h.url,
        `POST /proxy/shop/cart/cart-0/echo HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n${smuggled}`,
        headComplete,
      );
      expect(duplicateLength).toMatch(/^HTTP\/1\.1 400/);
      const headerInjection = await rawExchange(
        h.url,
        `GET /proxy/shop/cart/cart-0/echo HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nX-Forwarded-Email: a\rInjected: b\r\n\r\n`,
        headComplete,
      );
      expect(headerInjection).toMatch(/^HTTP\/1\.1 400/);
      expect(h.pods['db-0'].seen).toEqual([]);
      expect(podRequests()).toBe(before);
    });

    it('drops identity headers in every spelling the client may try', async () => {
      const names = [
        'X-Forwarded-Email',
        'x-forwarded_email',
        'X_FORWARDED_EMAIL',
        'X-Forwarded-User',
        'x_forwarded_user',
        'X-Forwarded-Preferred-Username',
        'X-Auth-Request-Email',
        'x-auth-request_user',
        'X-Remote-User',
        'Remote-User',
        'Impersonate-User',
        'Impersonate-Group',
        'Authorization',
        'X-Real-IP',
        'Forwarded',
      ];
      const headers: Record<string, string> = { cookie: alice.cookieHeader() ?? '' };
      for (const n of names) headers[n] = 'mallory';
      const res = await rawGet(h.url, '/proxy/shop/cart/cart-0/echo', headers);
      const seen = JSON.parse(res.body).headers as Record<string, string>;
      expect(Object.entries(seen).filter(([, v]) => String(v).includes('mallory'))).toEqual([]);
      expect(seen['x-forwarded-email']).toBe('alice@example.com');
    });
  });
});
