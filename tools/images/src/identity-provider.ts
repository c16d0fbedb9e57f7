import { OAuth2Server } from 'oauth2-mock-server';

export interface MockIdentityProvider {
  readonly authorizationURL: string;
  readonly tokenURL: string;
  readonly userinfoURL: string;
  readonly email: string;
  stop(): Promise<void>;
}

/**
 * Google cannot be reached from here, so svc-proxy's real sign-in flow (state, PKCE, code
 * exchange, userinfo, allow-list) runs against oauth2-mock-server on loopback, through
 * svc-proxy's documented OAUTH_*_URL overrides. It signs in `email` without asking: loopback only,
 * for this check only.
 */
export async function startMockIdentityProvider(email: string): Promise<MockIdentityProvider> {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  server.service.on(
    'beforeUserinfo',
    (
      response: { body: unknown; statusCode: number },
      req: {
        headers: Record<string, string | undefined>;
        query: Record<string, string | undefined>;
      },
    ) => {
      // passport-oauth2 sends the token as ?access_token=, others as a Bearer header; neither
      // means the request did not come from a finished code exchange.
      const token =
        req.query['access_token'] ?? (req.headers['authorization'] ?? '').replace(/^Bearer /i, '');
      if (!token) {
        response.statusCode = 401;
        response.body = { error: 'invalid_token' };
        return;
      }
      response.body = { sub: 'images-check-operator', email, email_verified: true };
    },
  );
  await server.start(0, '127.0.0.1');
  const address = server.address();
  const issuer = `http://127.0.0.1:${address.port}`;
  server.issuer.url = issuer;
  return {
    authorizationURL: `${issuer}/authorize`,
    tokenURL: `${issuer}/token`,
    userinfoURL: `${issuer}/userinfo`,
    email,
    stop: () => server.stop(),
  };
}
