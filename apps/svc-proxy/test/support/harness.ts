import { createLogger } from '@conveyor/observability';
import { freePort } from '@conveyor/test-support';
import { parseConfig, start, type SvcProxy, type SvcProxyConfig } from '../../src/main';
import { Browser, type Hop } from './browser';
import { endpointSlice, FakeKubeApi, service } from './fake-kube-api';
import { FakePod } from './fake-pods';
import { duplicateKeys } from './json-keys';
import { MockProvider, type MockUser } from './oauth';

export { freePort };

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

export const ALICE: MockUser = {
  sub: '1001',
  email: 'alice@example.com',
  email_verified: true,
  name: 'Alice',
};

/**
 * The whole world of an end-to-end test: fake API server, real mock OAuth2 provider, Go-like
 * pods on distinct loopback addresses, and svc-proxy started through its real start().
 * Cluster layout:
 *   ns "shop":  service "cart" (annotated "http")  → pods cart-0 (127.0.0.2), cart-1 (127.0.0.3)
 *               service "db"   (not annotated)     → pod db-0 (127.0.0.4)
 *   ns "ops":   service "agent" (annotated "9100") → pod agent-0 (127.0.0.5), port 9100 named "metrics"
 */
export class Harness {
  readonly kube = new FakeKubeApi();
  readonly provider = new MockProvider();
  readonly pods = {
    'cart-0': new FakePod('127.0.0.2', 'cart-0'),
    'cart-1': new FakePod('127.0.0.3', 'cart-1'),
    'db-0': new FakePod('127.0.0.4', 'db-0'),
    'agent-0': new FakePod('127.0.0.5', 'agent-0'),
  } as const;
  readonly logs: LogLine[] = [];
  /** The lines as written: `logs` went through JSON.parse, which hides repeated keys. */
  readonly rawLogs: string[] = [];
  proxy!: SvcProxy;
  config!: SvcProxyConfig;
  agentPort = 0;

  /** `overrides` bypass validation, for limits the config refuses (e.g. sub-second timeouts). */
  async start(
    env: Record<string, string> = {},
    overrides: Partial<SvcProxyConfig> = {},
  ): Promise<void> {
    await this.kube.start();
    await this.provider.start();
    const cartPort = await this.pods['cart-0'].start();
    await this.pods['cart-1'].start(cartPort);
    await this.pods['db-0'].start(cartPort);
    this.agentPort = await this.pods['agent-0'].start();

    this.kube.apply(
      'services',
      service('shop', 'cart', {
        annotation: 'http',
        ports: [{ name: 'http', port: 80, targetPort: cartPort }],
      }),
    );
    this.kube.apply(
      'endpointslices',
      endpointSlice(
        'shop',
        'cart',
        [
          { pod: 'cart-0', ip: '127.0.0.2', node: 'node-a' },
          { pod: 'cart-1', ip: '127.0.0.3', node: 'node-b' },
        ],
        [{ name: 'http', port: cartPort }],
      ),
    );
    this.kube.apply(
      'services',
      service('shop', 'db', { ports: [{ name: 'http', port: cartPort }] }),
    );
    this.kube.apply(
      'endpointslices',
      endpointSlice(
        'shop',
        'db',
        [{ pod: 'db-0', ip: '127.0.0.4', node: 'node-a' }],
        [{ name: 'http', port: cartPort }],
      ),
    );
    this.kube.apply(
      'services',
      service('ops', 'agent', {
        annotation: String(this.agentPort),
        ports: [{ name: 'metrics', port: this.agentPort }],
      }),
    );
    this.kube.apply(
      'endpointslices',
      endpointSlice(
        'ops',
        'agent',
        [{ pod: 'agent-0', ip: '127.0.0.5', node: 'node-c' }],
        [{ name: 'metrics', port: this.agentPort }],
      ),
    );

    const port = await freePort();
    this.config = parseConfig({
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      INSECURE_COOKIE: 'true',
      GOOGLE_CLIENT_ID: 'svc-proxy-test',
      GOOGLE_CLIENT_SECRET: 'test-secret',
      OAUTH_AUTHORIZATION_URL: `${this.provider.issuer}/authorize`,
      OAUTH_TOKEN_URL: `${this.provider.issuer}/token`,
      OAUTH_USERINFO_URL: `${this.provider.issuer}/userinfo`,
      ALLOWED_EMAILS: 'alice@example.com,Bob@Partner.example',
      ALLOWED_DOMAINS: 'ops.example.com',
      COOKIE_SECRET: 'x'.repeat(40),
      PROXY_TIMEOUT_SECONDS: '35',
      INFORMER_BACKOFF_INITIAL_MS: '50',
      INFORMER_BACKOFF_MAX_MS: '400',
      ...env,
    });
    this.config = { ...this.config, ...overrides };
    const logger = createLogger('svc-proxy', {
      level: 'debug',
      destination: {
        write: (line: string) => {
          this.rawLogs.push(line);
          this.logs.push(JSON.parse(line) as LogLine);
        },
      },
    });
    this.proxy = await start(this.config, {
      logger,
      kubeConfig: this.kube.kubeConfig(),
      handleSignals: false,
    });
    await this.waitFor(() => this.proxy.directory.list().length === 3, 'initial targets');
    this.provider.register('alice', ALICE);
  }

  get url(): string {
    return this.proxy.url;
  }

  async waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Runs the real sign-in flow; returns every hop (start → provider → callback → target). */
  async signIn(
    browser: Browser,
    hint = 'alice',
    rd?: string,
  ): Promise<{ hops: Hop[]; callback: Hop | undefined }> {
    const start = `${this.url}/oauth2/start${rd === undefined ? '' : `?rd=${encodeURIComponent(rd)}`}`;
    const hops: Hop[] = [];
    let current = start;
    for (let i = 0; i < 4; i++) {
      if (current.includes('/authorize?')) {
        const u = new URL(current);
        u.searchParams.set('login_hint', hint);
        current = u.href;
      }
      const res = await browser.request(current);
      await res.arrayBuffer();
      const location = res.headers.get('location');
      hops.push({ status: res.status, location, url: current });
      if (
        current.includes('/oauth2/callback') ||
        !location ||
        res.status < 300 ||
        res.status >= 400
      )
        break;
      current = new URL(location, current).href;
    }
    return { hops, callback: hops.find((h) => h.url.includes('/oauth2/callback')) };
  }

  async signedInBrowser(hint = 'alice'): Promise<Browser> {
    const browser = new Browser();
    const { callback } = await this.signIn(browser, hint);
    if (callback?.status !== 302) throw new Error(`sign-in failed: ${JSON.stringify(callback)}`);
    return browser;
  }

  auditLines(): LogLine[] {
    return this.logs.filter((l) => l['audit'] === true);
  }

  totalPodRequests(): number {
    return Object.values(this.pods).reduce((n, p) => n + p.seen.length, 0);
  }

  /** Every line, of any kind, that carries a key twice (the key paths and the line). */
  linesWithDuplicateKeys(): { keys: string[]; line: string }[] {
    return this.rawLogs
      .map((line) => ({ keys: duplicateKeys(line), line }))
      .filter((l) => l.keys.length > 0);
  }

  /** Stops everything, then fails the suite if any log line of its run carried a key twice. */
  async stop(): Promise<void> {
    await this.proxy?.shutdown();
    await Promise.all(Object.values(this.pods).map((p) => p.stop()));
    await this.provider.stop();
    await this.kube.stop();
    const repeated = this.linesWithDuplicateKeys();
    if (repeated.length > 0)
      throw new Error(
        `${repeated.length} log lines carry a key twice, e.g. ${JSON.stringify(repeated[0])}`,
      );
  }
}
