import { Browser } from './support/browser';
import { Harness } from './support/harness';
import { headComplete, rawExchange } from './support/raw';
import { openWebSocket } from './support/websocket';

jest.setTimeout(60_000);

/** Guarantees the README makes that a security review found broken. */
describe('svc-proxy guarantees', () => {
  const h = new Harness();
  let alice: Browser;
  beforeAll(async () => {
    await h.start({
      ALLOWED_EMAILS: 'alice@example.com,kate@other.com,sam@other.com,iris@other.com',
    });
    alice = await h.signedInBrowser();
  });
  afterAll(() => h.stop());

  describe('Unicode case folding cannot sign in as an allow-listed address', () => {
    it.each([
      ['KELVIN SIGN', '\u212Aate@other.com'],
      ['long s', '\u017Fam@other.com'],
      ['dotless i', '\u0131ris@other.com'],
      ['fullwidth letters', '\uFF4B\uFF41\uFF54\uFF45@other.com'],
      ['KELVIN SIGN under an allowed domain', '\u212Aarol@ops.example.com'],
    ])('refuses %s', async (_label, email) => {
      const hint = `fold-${email.codePointAt(0)}-${email.length}`;
      h.provider.register(hint, { sub: hint, email, email_verified: true });
      const browser = new Browser();
      const { callback } = await h.signIn(browser, hint);
      expect(callback?.status).toBe(403);
      const after = await browser.request(`${h.url}/api/targets`, {
        headers: { accept: 'application/json' },
      });
      expect(after.status).toBe(401);
      const podSawIt = Object.values(h.pods).some((p) =>
        p.seen.some((r) => String(r.headers['x-forwarded-email']).includes('other.com')),
      );
      expect(podSawIt).toBe(false);
    });

    it('still folds ASCII case', async () => {
      h.provider.register('kate', { sub: 'k1', email: 'KATE@Other.com', email_verified: true });
      const browser = await h.signedInBrowser('kate');
      const res = await browser.request(`${h.url}/proxy/shop/cart/cart-0/echo`);
      const { headers } = (await res.json()) as { headers: Record<string, string> };
      expect(headers['x-forwarded-email']).toBe('kate@other.com');
    });
  });

  describe('a WebSocket handshake answer goes through the HTTP response-header policy', () => {
    const ws = (path: string) => `${h.url.replace('http', 'ws')}/proxy/shop/cart/cart-0/${path}`;
    const expectFiltered = (setCookie: string | string[] | undefined) => {
      const lines = [setCookie ?? []].flat();
      expect(lines.filter((c) => /^(_svc_proxy|__secure-_svc_proxy)=/i.test(c))).toEqual([]);
      expect(lines.filter((c) => /^(=|noequals|__Host-)/i.test(c))).toEqual([]);
      for (const c of lines) expect(c).toMatch(/; Path=\/proxy\/shop\/cart\/cart-0\//);
      expect(lines.some((c) => c.startsWith('pod_pref=1'))).toBe(true);
    };

    it('on 101', async () => {
      const {
        ws: socket,
        status,
        headers,
      } = await openWebSocket(ws('ws-hostile'), {
        cookie: alice.cookieHeader() ?? '',
      });
      expect(status).toBe(101);
      socket?.close();
      expectFiltered(headers?.['set-cookie']);
      expect(headers?.['clear-site-data']).toBeUndefined();
    });

    it('on any other answer', async () => {
      const { status, headers, body } = await openWebSocket(ws('ws-refuse'), {
        cookie: alice.cookieHeader() ?? '',
      });
      expect(status).toBe(403);
      expect(body).toBe('no\n');
      expectFiltered(headers?.['set-cookie']);
      expect(headers?.['clear-site-data']).toBeUndefined();
    });

    it('refuses a handshake redirected off the origin', async () => {
      const { status, headers } = await openWebSocket(ws('ws-redirect'), {
        cookie: alice.cookieHeader() ?? '',
      });
      expect(status).toBe(502);
      expect(headers?.['location']).toBeUndefined();
    });

    it('and the session cookie survives all of it', async () => {
      expect((await alice.request(`${h.url}/api/targets`)).status).toBe(200);
    });
  });

  it('strips hop-by-hop request headers and every header Connection names (RFC 9110 §7.6.1)', async () => {
    const answer = await rawExchange(
      h.url,
      `GET /proxy/shop/cart/cart-0/echo HTTP/1.1\r\nHost: x\r\nCookie: ${alice.cookieHeader() ?? ''}\r\n` +
        `Connection: keep-alive, X-Forwarded-Email, X-Forwarded-User, Accept-Language\r\nKeep-Alive: timeout=5\r\n` +
        `TE: trailers\r\nTrailer: X-Sum\r\nProxy-Connection: keep-alive\r\nAccept-Language: de\r\nUser-Agent: t\r\n\r\n`,
      (out) => headComplete(out) && out.trimEnd().endsWith('0'),
    );
    const seen = h.pods['cart-0'].seen.filter((r) => r.url === '/echo').pop()?.headers ?? {};
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    for (const name of ['keep-alive', 'te', 'trailer', 'proxy-connection', 'accept-language'])
      expect(seen[name]).toBeUndefined();
    // Node's agent sets its own Connection; none of the client's tokens survive in it.
    expect(String(seen['connection'] ?? '')).not.toMatch(/forwarded|accept/i);
    expect(seen['x-forwarded-email']).toBe('alice@example.com');
    expect(seen['x-forwarded-user']).toBe('1001');
    expect(seen['user-agent']).toBe('t');
  });

  describe('the OAuth callback shows our wording, never the query string', () => {
    const evil = 'Your account is locked. Call +1-555-0100 now';
    it.each([
      ['access_denied', 403, 'cancelled or refused at the identity provider'],
      ['temporarily_unavailable', 502, 'could not handle the sign-in right now'],
      ['invalid_scope', 502, 'misconfigured'],
      ['<script>alert(1)</script>', 400, 'does not recognise'],
    ])('error=%s', async (code, status, wording) => {
      const res = await fetch(
        `${h.url}/oauth2/callback?error=${encodeURIComponent(code)}&error_description=${encodeURIComponent(evil)}&error_uri=https%3A%2F%2Fevil.example%2F`,
      );
      expect(res.status).toBe(status);
      const page = await res.text();
      expect(page).toContain(wording);
      expect(page).not.toContain('555-0100');
      expect(page).not.toContain('evil.example');
      expect(page).not.toContain('alert(1)');
    });
  });
});
