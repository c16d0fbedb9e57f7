import { connectionTokens, encodeHeaderValue, upstreamHeaders } from './headers';

describe('upstream headers', () => {
  const ctx = {
    identity: { user: '1001', email: 'alice@example.com' },
    sessionCookieName: '_svc_proxy',
    upstreamHost: '10.0.0.1:8080',
    clientAddress: '192.0.2.1',
    publicUrl: new URL('https://debug.example.com'),
    prefix: '/proxy/a/b/c',
  };

  it('forwards only allow-listed headers, replaces claims and drops the session cookie only', () => {
    const out = upstreamHeaders(
      {
        'x-forwarded-email': 'mallory@evil.com',
        'x-forwarded-user': 'mallory',
        'x-auth-user': 'mallory',
        'x-webauth-email': 'mallory@evil.com',
        'client-ip': '10.0.0.66',
        'x-goog-iap-jwt-assertion': 'forged',
        authorization: 'Bearer stolen',
        cookie: 'a=1; _svc_proxy=sealed; b=2',
        accept: 'text/html',
        'user-agent': 'test',
        host: 'debug.example.com',
        'sec-websocket-key': 'not a websocket',
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
    expect(upstreamHeaders({ cookie: '_svc_proxy=sealed' }, ctx)['cookie']).toBeUndefined();
  });

  it('drops hop-by-hop headers and every header Connection names (RFC 9110 §7.6.1)', () => {
    const out = upstreamHeaders(
      {
        connection: 'keep-alive, Accept, X-Forwarded-Email',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        trailer: 'X-Checksum',
        'proxy-connection': 'keep-alive',
        upgrade: 'h2c',
        accept: 'text/html',
        'user-agent': 'test',
      },
      ctx,
    );
    for (const name of [
      'connection',
      'keep-alive',
      'te',
      'trailer',
      'proxy-connection',
      'upgrade',
      'accept',
    ])
      expect(out[name]).toBeUndefined();
    expect(out['user-agent']).toBe('test');
    expect(out['x-forwarded-email']).toBe('alice@example.com');
    expect([...connectionTokens(['a, B', ' c '])]).toEqual(['a', 'b', 'c']);
  });

  it('forwards the WebSocket handshake headers only for an upgrade', () => {
    const out = upstreamHeaders(
      {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': 'k',
        'sec-websocket-version': '13',
      },
      { ...ctx, websocket: true },
    );
    expect(out).toMatchObject({
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': 'k',
      'sec-websocket-version': '13',
    });
  });

  it.each([
    ['alice@example.com', 'alice@example.com'],
    ['δ@allowed.com', '%CE%B4@allowed.com'],
    ['用户', '%E7%94%A8%E6%88%B7'],
    ['50%@example.com', '50%25@example.com'],
    ['é', '%C3%A9'],
    ['a\r\nb', 'a%0D%0Ab'],
  ])('percent-encodes identity %j as %j, and decodeURIComponent recovers it', (value, encoded) => {
    expect(encodeHeaderValue(value)).toBe(encoded);
    expect(decodeURIComponent(encodeHeaderValue(value))).toBe(value);
  });
});
