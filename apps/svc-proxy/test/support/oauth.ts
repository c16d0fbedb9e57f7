import { OAuth2Server } from 'oauth2-mock-server';

/** Who the mock provider says signs in; one per authorization code, so flows can run in parallel. */
export interface MockUser {
  readonly sub: string;
  readonly email?: string;
  readonly email_verified?: unknown;
  readonly name?: string;
}

/**
 * oauth2-mock-server (a real OAuth2/OIDC server with PKCE checks) wired so each flow can sign
 * in a different user: the test names the user in `login_hint` on the authorize request, the
 * code→user mapping carries it into the access token, and userinfo answers from the token.
 */
export class MockProvider {
  readonly server = new OAuth2Server();
  private readonly byCode = new Map<string, MockUser>();
  private readonly users = new Map<string, MockUser>();
  readonly tokenRequests: Record<string, string>[] = [];

  async start(): Promise<void> {
    await this.server.issuer.keys.generate('RS256');
    this.server.service.on(
      'beforeAuthorizeRedirect',
      (redirect: { url: URL }, req: { query: Record<string, string> }) => {
        const user = this.users.get(req.query['login_hint'] ?? '');
        const code = redirect.url.searchParams.get('code');
        if (user && code) this.byCode.set(code, user);
      },
    );
    this.server.service.on(
      'beforeTokenSigning',
      (token: { payload: Record<string, unknown> }, req: { body: Record<string, string> }) => {
        if (req.body['grant_type'] === 'authorization_code')
          this.tokenRequests.push({ ...req.body });
        const user = this.byCode.get(req.body['code'] ?? '');
        if (user) token.payload['test_user'] = user;
      },
    );
    this.server.service.on(
      'beforeUserinfo',
      (
        response: { body: unknown; statusCode: number },
        req: {
          headers: Record<string, string | undefined>;
          query: Record<string, string | undefined>;
        },
      ) => {
        // node-oauth (under passport-oauth2) sends the token as ?access_token=; others use the header.
        const jwt =
          req.query['access_token'] ?? (req.headers['authorization'] ?? '').replace(/^Bearer /, '');
        const payload = JSON.parse(
          Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8') || '{}',
        ) as { test_user?: MockUser };
        if (!payload.test_user) {
          response.statusCode = 401;
          response.body = { error: 'invalid_token' };
          return;
        }
        response.body = payload.test_user;
      },
    );
    await this.server.start(0, '127.0.0.1');
  }

  /** Registers a user under a hint; the browser passes the hint when it reaches /authorize. */
  register(hint: string, user: MockUser): void {
    this.users.set(hint, user);
  }

  get issuer(): string {
    return this.server.issuer.url ?? '';
  }

  async stop(): Promise<void> {
    await this.server.stop();
  }
}
