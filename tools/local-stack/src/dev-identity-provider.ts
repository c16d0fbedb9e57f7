import { OAuth2Server } from 'oauth2-mock-server';

export interface DevIdentityProvider {
  readonly issuer: string;
  readonly authorizationURL: string;
  readonly tokenURL: string;
  readonly userinfoURL: string;
  readonly email: string;
  stop(): Promise<void>;
}

/**
 * A development-only OAuth2 provider so svc-proxy's real sign-in flow (state, PKCE, code
 * exchange, userinfo) works on a laptop without Google credentials. oauth2-mock-server answers
 * /authorize without asking anyone, so whoever can reach it is signed in as `email`: it listens
 * on loopback only and is never part of a deployment.
 */
export async function startDevIdentityProvider(options: {
  host: string;
  /** 0 = any free port. */
  port: number;
  email: string;
  /** The provider's `sub` for the signed-in user (what svc-proxy's audit lines name). */
  subject?: string;
}): Promise<DevIdentityProvider> {
  if (!['127.0.0.1', '::1', 'localhost'].includes(options.host)) {
    throw new Error(
      `the development identity provider signs in anyone who reaches it; it only listens on loopback, not ${options.host}`,
    );
  }
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
      // passport-oauth2 sends the access token as ?access_token=, others as a Bearer header; a
      // request with neither did not come from a finished sign-in.
      const token =
        req.query['access_token'] ?? (req.headers['authorization'] ?? '').replace(/^Bearer /i, '');
      if (!token) {
        response.statusCode = 401;
        response.body = { error: 'invalid_token', error_description: 'no access token' };
        return;
      }
      response.body = {
        sub: options.subject ?? 'local-developer',
        email: options.email,
        email_verified: true,
        name: 'Local developer',
      };
    },
  );
  try {
    await server.start(options.port, options.host);
  } catch (error) {
    throw new Error(
      `the development identity provider cannot listen on ${options.host}:${options.port}: ${(error as Error).message}; set DEV_IDP_PORT to a free port`,
    );
  }
  // oauth2-mock-server names itself "localhost", which browsers may resolve to ::1 while it
  // listens on 127.0.0.1; the issuer must be the address it really listens on.
  const address = server.address();
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const issuer = `http://${hostPart}:${address.port}`;
  server.issuer.url = issuer;
  return {
    issuer,
    authorizationURL: `${issuer}/authorize`,
    tokenURL: `${issuer}/token`,
    userinfoURL: `${issuer}/userinfo`,
    email: options.email,
    stop: () => server.stop(),
  };
}
