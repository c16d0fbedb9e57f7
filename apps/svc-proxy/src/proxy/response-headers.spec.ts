import {
  downstreamHeaders,
  POD_SANDBOX_CSP,
  scopePodCookie,
  type ResponsePolicy,
} from './response-headers';

const policy: ResponsePolicy = {
  prefix: '/proxy/shop/cart/cart-0',
  upstreamHost: '10.0.0.1:8080',
  publicOrigin: 'https://debug.example.com',
  sessionCookieName: '_svc_proxy',
  sandbox: true,
};
const P = policy.prefix;

describe('pod response headers', () => {
  it.each([
    ['a=1', `a=1; Path=${P}/`],
    ['a=1; Path=/', `a=1; Path=${P}/`],
    ['a=1; path=/debug; Domain=example.com; HttpOnly', `a=1; Path=${P}/debug; HttpOnly`],
    [`a=1; Path=${P}/x`, `a=1; Path=${P}/x`],
    ['a=1; Path=relative', `a=1; Path=${P}/`],
  ])('scopes %j as %j', (line, scoped) => {
    expect(scopePodCookie(line, P, '_svc_proxy')).toBe(scoped);
  });

  it.each([
    '=x',
    'noequals',
    ' =x',
    '_svc_proxy=x',
    '_SVC_PROXY=x',
    '__Secure-_svc_proxy=x',
    '__Host-a=1; Path=/',
  ])('drops %j', (line) => {
    expect(scopePodCookie(line, P, '_svc_proxy')).toBeUndefined();
  });

  it('drops hop-by-hop, Connection-named, origin-wide and CORS headers; marks answers private', () => {
    const out = downstreamHeaders(
      {
        connection: 'x-secret',
        'x-secret': '1',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        'service-worker-allowed': '/',
        'clear-site-data': '"*"',
        'access-control-allow-origin': '*',
        'access-control-expose-headers': 'x',
        'strict-transport-security': 'max-age=1',
        'alt-svc': 'h3=":443"',
        'cache-control': 'public, s-maxage=60, max-age=60',
        vary: 'Accept-Encoding',
        'content-security-policy': "default-src 'self'",
        'content-type': 'text/html',
      },
      policy,
    );
    expect(out).toEqual({
      kind: 'ok',
      headers: {
        'cache-control': 'private, max-age=60',
        vary: 'Accept-Encoding, Cookie',
        'content-security-policy': ["default-src 'self'", POD_SANDBOX_CSP],
        'x-content-type-options': 'nosniff',
        'content-type': 'text/html',
      },
    });
  });

  it.each([
    ['//evil.example/', false],
    ['/\\evil.example/', false],
    ['\\\\evil.example', false],
    ['https://evil.example/', false],
    ['javascript:alert(1)', false],
    ['http://10.0.0.1:8080/x', true],
    ['/x', true],
    ['x', true],
    ['https://debug.example.com/proxy/shop/cart/cart-0/y', true],
  ])('Location %j stays on the origin: %s', (location, ok) => {
    expect(downstreamHeaders({ location }, policy).kind).toBe(ok ? 'ok' : 'off-origin-redirect');
  });

  it.each([
    ['0; url=https://evil.example/', undefined],
    ['0;https://evil.example/', undefined],
    ["5; URL='//evil.example/'", undefined],
    ['not a refresh', undefined],
    ['5', '5'],
    ['5; url=/x', `5; url=${P}/x`],
    ['0;/x', `0;${P}/x`],
  ])('Refresh %j becomes %j', (refresh, expected) => {
    const out = downstreamHeaders({ refresh }, policy);
    expect(out.kind === 'ok' ? out.headers['refresh'] : 'refused').toBe(expected);
  });
});
