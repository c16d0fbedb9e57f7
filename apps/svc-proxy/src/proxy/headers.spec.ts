import { isIdentityHeader, upstreamHeaders } from './headers';

describe('upstream headers', () => {
  const ctx = {
    identity: { user: '1001', email: 'alice@example.com' },
    sessionCookieName: '_svc_proxy',
    upstreamHost: '10.0.0.1:8080',
    clientAddress: '192.0.2.1',
    publicUrl: new URL('https://debug.example.com'),
    prefix: '/proxy/a/b/c',
  };

  it.each([
    'X-Forwarded-Email',
    'x-forwarded_email',
    'X_Forwarded_User',
    'x-forwarded-for',
    'X-Auth-Request-Email',
    'x-auth_request-user',
    'Authorization',
    'Impersonate-User',
    'impersonate_group',
    'X-Remote-User',
    'X-Real-IP',
    'Forwarded',
  ])('treats %s as an identity claim', (name) => {
    expect(isIdentityHeader(name)).toBe(true);
  });

  it('replaces claims with the signed-in identity and drops the session cookie only', () => {
    const out = upstreamHeaders(
      {
        'x-forwarded-email': 'mallory@evil.com',
        'x-forwarded_email': 'mallory@evil.com',
        'x-forwarded-user': 'mallory',
        authorization: 'Bearer stolen',
        cookie: 'a=1; _svc_proxy=sealed; b=2',
        accept: 'text/html',
        'user-agent': 'test',
        host: 'debug.example.com',
      },
      ctx,
    );
    expect(out).toEqual({
      accept: 'text/html',
      'user-agent': 'test',
      cookie: 'a=1; b=2',
      host: '10.0.0.1:8080',
      'accept-encoding': 'identity',
      'x-forwarded-user': '1001',
      'x-forwarded-email': 'alice@example.com',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'debug.example.com',
      'x-forwarded-prefix': '/proxy/a/b/c',
      'x-forwarded-for': '192.0.2.1',
    });
  });

  it('removes the Cookie header when only the session cookie was there', () => {
    expect(upstreamHeaders({ cookie: '_svc_proxy=sealed' }, ctx).cookie).toBeUndefined();
  });
});
