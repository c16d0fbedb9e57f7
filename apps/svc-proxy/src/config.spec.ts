import { ConfigError, GOOGLE_ENDPOINTS, parseConfig } from './config';

const valid = {
  PUBLIC_URL: 'https://debug.example.com',
  GOOGLE_CLIENT_ID: 'id',
  GOOGLE_CLIENT_SECRET: 'secret',
  ALLOWED_DOMAINS: 'example.com',
  COOKIE_SECRET: 's'.repeat(32),
};

function problems(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('applies secure defaults', () => {
    const config = parseConfig(valid);
    expect(config.port).toBe(3004);
    expect(config.host).toBe('127.0.0.1');
    expect(config.session.insecureCookie).toBe(false);
    expect(config.session.cookieName).toBe('_svc_proxy');
    expect(config.oauth.authorizationURL).toBe(GOOGLE_ENDPOINTS.authorizationURL);
    expect(config.kube).toEqual({ kind: 'default' });
    expect(config.namespaces).toEqual([]);
    // Long enough for /debug/pprof/profile?seconds=30 with room to spare.
    expect(config.proxyTimeoutMs).toBeGreaterThanOrEqual(35_000);
  });

  it('reports every problem at once', () => {
    const found = problems({
      PORT: 'eighty',
      PUBLIC_URL: 'http://debug.local',
      COOKIE_SECRET: 'short',
      NAMESPACES: 'Bad_NS',
      ALLOWED_EMAILS: 'a@b@c.com',
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringContaining('PORT="eighty" must be an integer'),
        expect.stringContaining('GOOGLE_CLIENT_ID is required'),
        expect.stringContaining('GOOGLE_CLIENT_SECRET is required'),
        expect.stringContaining('COOKIE_SECRET must be at least 32 characters'),
        expect.stringContaining('PUBLIC_URL is plain http'),
        expect.stringContaining('NAMESPACES entry "Bad_NS"'),
        expect.stringContaining('ALLOWED_EMAILS entry "a@b@c.com"'),
      ]),
    );
    expect(found.length).toBeGreaterThanOrEqual(7);
  });

  it('requires an allow-list', () => {
    const { ALLOWED_DOMAINS: _omit, ...rest } = valid;
    expect(problems(rest)).toEqual([
      expect.stringContaining('set ALLOWED_EMAILS and/or ALLOWED_DOMAINS'),
    ]);
  });

  it('makes plain-HTTP cookies an explicit, named opt-in', () => {
    expect(problems({ ...valid, PUBLIC_URL: 'http://127.0.0.1:3004' })).toHaveLength(1);
    const config = parseConfig({
      ...valid,
      PUBLIC_URL: 'http://127.0.0.1:3004',
      INSECURE_COOKIE: 'true',
    });
    expect(config.session.insecureCookie).toBe(true);
    expect(problems({ ...valid, INSECURE_COOKIE: 'yes' })).toEqual([
      expect.stringContaining('INSECURE_COOKIE must be true or false'),
    ]);
  });

  it('rejects wildcard domains and PUBLIC_URL with a path', () => {
    expect(
      problems({
        ...valid,
        ALLOWED_DOMAINS: '*.example.com',
        PUBLIC_URL: 'https://x.example.com/debug',
      }),
    ).toEqual([
      expect.stringContaining('write the bare domain'),
      expect.stringContaining('PUBLIC_URL must be an origin only'),
    ]);
  });

  it('rotates cookie secrets: the new one seals, both unseal', () => {
    const config = parseConfig({ ...valid, COOKIE_SECRET_PREVIOUS: 'p'.repeat(32) });
    expect(config.session.secrets).toEqual({ '1': 'p'.repeat(32), '2': 's'.repeat(32) });
  });

  it('chooses the kube source', () => {
    expect(parseConfig({ ...valid, KUBE_SOURCE: 'in-cluster' }).kube).toEqual({
      kind: 'in-cluster',
    });
    expect(
      parseConfig({ ...valid, KUBE_SOURCE: 'kubeconfig', KUBECONFIG: '/k', KUBE_CONTEXT: 'c' })
        .kube,
    ).toEqual({ kind: 'kubeconfig', path: '/k', context: 'c' });
    expect(problems({ ...valid, KUBE_SOURCE: 'kubeconfig' })).toEqual([
      expect.stringContaining('needs KUBECONFIG'),
    ]);
  });

  it('chooses the discovery source; a static file needs DISCOVERY=static and vice versa', () => {
    expect(parseConfig(valid).discovery).toEqual({ kind: 'kubernetes' });
    expect(
      parseConfig({ ...valid, DISCOVERY: 'static', STATIC_ENDPOINTS_FILE: ' /etc/endpoints.yaml ' })
        .discovery,
    ).toEqual({
      kind: 'static',
      file: '/etc/endpoints.yaml',
    });
    expect(problems({ ...valid, DISCOVERY: 'static' })).toEqual([
      expect.stringContaining('DISCOVERY=static needs STATIC_ENDPOINTS_FILE'),
    ]);
    expect(problems({ ...valid, STATIC_ENDPOINTS_FILE: '/e.yaml' })).toEqual([
      expect.stringContaining('set DISCOVERY=static to use the file'),
    ]);
    expect(problems({ ...valid, DISCOVERY: 'consul' })).toEqual([
      expect.stringContaining('DISCOVERY must be kubernetes or static'),
    ]);
  });

  it('takes a metrics bearer token only when it is long enough to resist guessing', () => {
    expect(parseConfig(valid).metricsBearerToken).toBeUndefined();
    expect(parseConfig({ ...valid, METRICS_BEARER_TOKEN: 't'.repeat(32) }).metricsBearerToken).toBe(
      't'.repeat(32),
    );
    expect(problems({ ...valid, METRICS_BEARER_TOKEN: 'short' })).toEqual([
      expect.stringContaining('METRICS_BEARER_TOKEN must be at least 32 printable characters'),
    ]);
    expect(problems({ ...valid, METRICS_BEARER_TOKEN: `${'t'.repeat(32)} x` })).toHaveLength(1);
  });
});
