import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { SessionCodec, withoutCookie } from './session';

const config = {
  cookieName: '_svc_proxy',
  secrets: { '1': 'k'.repeat(40) },
  ttlSeconds: 3600,
  insecureCookie: false,
};

function exchange(cookie?: string): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(new Socket());
  if (cookie) req.headers.cookie = cookie;
  return { req, res: new ServerResponse(req) };
}

const setCookies = (res: ServerResponse): string[] =>
  (res.getHeader('set-cookie') as string[] | undefined) ?? [];

describe('sealed cookie sessions', () => {
  const user = { sid: 's', subject: '1', email: 'a@example.com', signedInAt: Date.now() };

  it('sets Secure, HttpOnly, SameSite=Lax cookies by default', async () => {
    const codec = new SessionCodec(config);
    const { req, res } = exchange();
    const session = await codec.open(req, res);
    session.user = user;
    await session.save();
    const [line] = setCookies(res);
    expect(line).toMatch(/^_svc_proxy=Fe26\.2\*/);
    expect(line).toMatch(/; Max-Age=3540/);
    expect(line).toMatch(/; Path=\//);
    expect(line).toMatch(/; HttpOnly/);
    expect(line).toMatch(/; Secure/);
    expect(line).toMatch(/; SameSite=Lax/);
  });

  it('remembers a verified seal until the expiry inside it, and not beyond', async () => {
    const codec = new SessionCodec(config);
    const { req, res } = exchange();
    const session = await codec.open(req, res);
    session.user = user;
    await session.save();
    const cookie = (setCookies(res)[0] ?? '').split(';', 1)[0] ?? '';
    const first = await codec.read(cookie);
    expect(first.user?.email).toBe('a@example.com');
    // The same frozen object again: no unsealing, no copy.
    expect(await codec.read(cookie)).toBe(first);
    expect(Object.isFrozen(first.user)).toBe(true);
    const expiry = Number(cookie.split('*')[5]);
    const now = jest.spyOn(Date, 'now').mockReturnValue(expiry + 120_000);
    try {
      expect(await codec.read(cookie)).toEqual({});
    } finally {
      now.mockRestore();
    }
  });

  it('drops Secure only when insecureCookie is set', async () => {
    const codec = new SessionCodec({ ...config, insecureCookie: true });
    const { req, res } = exchange();
    const session = await codec.open(req, res);
    session.user = user;
    await session.save();
    expect(setCookies(res)[0]).not.toMatch(/Secure/);
  });

  it('round-trips, and saving twice leaves one Set-Cookie', async () => {
    const codec = new SessionCodec(config);
    const first = exchange();
    const session = await codec.open(first.req, first.res);
    session.user = user;
    await session.save();
    await session.save();
    expect(setCookies(first.res)).toHaveLength(1);
    const value = setCookies(first.res)[0]?.split(';')[0] ?? '';
    const again = await codec.open(exchange(value).req, exchange().res);
    expect(again.user).toEqual(user);
  });

  it("hands out frozen data: one request's session cannot change the verification cache", async () => {
    const codec = new SessionCodec(config);
    const a = exchange();
    const s = await codec.open(a.req, a.res);
    s.user = user;
    await s.save();
    const cookie = setCookies(a.res)[0]?.split(';')[0] ?? '';
    const one = await codec.open(exchange(cookie).req, exchange().res);
    expect(() => ((one.user as { email: string }).email = 'mallory@evil.com')).toThrow(TypeError);
    const two = await codec.open(exchange(cookie).req, exchange().res);
    expect(two.user?.email).toBe('a@example.com');
  });

  it('reads nothing from cookies sealed with another secret, and unseals with the previous secret during rotation', async () => {
    const old = new SessionCodec({ ...config, secrets: { '1': 'o'.repeat(40) } });
    const { req, res } = exchange();
    const s = await old.open(req, res);
    s.user = user;
    await s.save();
    const cookie = setCookies(res)[0]?.split(';')[0] ?? '';
    expect(await new SessionCodec(config).read(cookie)).toEqual({});
    const rotated = new SessionCodec({
      ...config,
      secrets: { '1': 'o'.repeat(40), '2': 'k'.repeat(40) },
    });
    expect((await rotated.read(cookie)).user).toEqual(user);
  });

  it('expires the cookie on destroy', async () => {
    const codec = new SessionCodec(config);
    const { req, res } = exchange();
    const session = await codec.open(req, res);
    session.user = user;
    session.destroy();
    expect(session.user).toBeUndefined();
    expect(setCookies(res)[0]).toMatch(/^_svc_proxy=; Max-Age=0/);
  });

  it('rejects users past the absolute session age', () => {
    const codec = new SessionCodec(config);
    expect(codec.currentUser({ user })).toEqual(user);
    expect(
      codec.currentUser({ user: { ...user, signedInAt: Date.now() - 3601_000 } }),
    ).toBeUndefined();
  });

  it('removes only its own cookie from the Cookie header', () => {
    expect(withoutCookie('a=1; _svc_proxy=x; _svc_proxy_other=2', '_svc_proxy')).toBe(
      'a=1; _svc_proxy_other=2',
    );
    expect(withoutCookie('_svc_proxy=x', '_svc_proxy')).toBeUndefined();
    expect(withoutCookie(undefined, '_svc_proxy')).toBeUndefined();
  });
});
