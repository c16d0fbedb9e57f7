import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import passport from 'passport';
import {
  Strategy as GoogleStrategy,
  type Profile,
  type VerifyCallback,
} from 'passport-google-oauth20';
import type { StateStore } from 'passport-oauth2';
import type { Logger } from 'pino';
import type { SvcProxyConfig } from '../config';
import { errorPage, signedOutPage, signOutPage } from '../web/pages';
import { decideAccess, type ProviderIdentity } from './email-policy';
import { decideRedirect, safeRedirectPath } from './redirect';
import { newSessionId, sessionOf, type SessionCodec } from './session';
import { CookieStateStore, type LoginState } from './state-store';

export const SIGN_IN_PATH = '/oauth2/start';
export const CALLBACK_PATH = '/oauth2/callback';
export const SIGN_OUT_PATH = '/oauth2/sign_out';
const SCOPES = ['openid', 'email', 'profile'];

/** Why passport did not hand us a user. */
type SignInFailure =
  | { readonly kind: 'denied'; readonly message: string }
  | { readonly kind: 'state'; readonly message: string };

function identityFrom(profile: Profile): ProviderIdentity {
  // _json is the provider's own userinfo document: read email_verified from the source rather
  // than from passport's normalised profile.
  const json = (profile._json ?? {}) as Record<string, unknown>;
  return {
    subject: String(profile.id ?? json['sub'] ?? ''),
    email: typeof json['email'] === 'string' ? json['email'] : undefined,
    emailVerified: json['email_verified'],
    name: typeof json['name'] === 'string' ? json['name'] : undefined,
  };
}

export function createAuthenticator(
  config: SvcProxyConfig,
  logger: Logger,
): passport.Authenticator {
  const authenticator = new passport.Authenticator();
  const strategy = new GoogleStrategy(
    {
      clientID: config.oauth.clientId,
      clientSecret: config.oauth.clientSecret,
      callbackURL: new URL(CALLBACK_PATH, config.publicUrl).href,
      authorizationURL: config.oauth.authorizationURL,
      tokenURL: config.oauth.tokenURL,
      userProfileURL: config.oauth.userProfileURL,
      state: true,
      pkce: true,
      store: new CookieStateStore() as unknown as StateStore,
    },
    (_accessToken: string, _refreshToken: string, profile: Profile, done: VerifyCallback) => {
      const identity = identityFrom(profile);
      const decision = decideAccess(identity, config.access);
      if (decision.kind === 'denied') {
        logger.warn(
          { subject: identity.subject, email: identity.email, reason: decision.reason },
          'sign-in denied',
        );
        const failure: SignInFailure = { kind: 'denied', message: decision.reason };
        done(null, false, failure);
        return;
      }
      done(null, { ...identity, email: decision.email, rule: decision.rule });
    },
  );
  authenticator.use('google', strategy);
  return authenticator;
}

interface SignedInIdentity extends ProviderIdentity {
  readonly email: string;
  readonly rule: 'email' | 'domain';
}

/** What an OAuth error code (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6) tells the user. */
export function providerErrorAnswer(code: string): {
  status: number;
  title: string;
  message: string;
} {
  switch (code) {
    case 'access_denied':
      return {
        status: 403,
        title: 'Sign-in cancelled',
        message:
          'The sign-in was cancelled or refused at the identity provider (access_denied). Start again and approve it there.',
      };
    case 'login_required':
    case 'interaction_required':
    case 'consent_required':
    case 'account_selection_required':
      return {
        status: 400,
        title: 'Sign-in not completed',
        message: `The identity provider needs you to sign in or consent in its own pages (${code}). Start again.`,
      };
    case 'server_error':
    case 'temporarily_unavailable':
      return {
        status: 502,
        title: 'Identity provider unavailable',
        message: `The identity provider could not handle the sign-in right now (${code}). Try again in a moment.`,
      };
    case 'invalid_request':
    case 'unauthorized_client':
    case 'unsupported_response_type':
    case 'invalid_scope':
    case 'invalid_request_uri':
    case 'invalid_request_object':
    case 'request_not_supported':
    case 'request_uri_not_supported':
    case 'registration_not_supported':
      return {
        status: 502,
        title: 'Sign-in refused by the identity provider',
        message: `The identity provider refused svc-proxy's sign-in request (${code}): the OAuth client id, redirect URI or scopes are misconfigured. Tell an administrator.`,
      };
    default:
      return {
        status: 400,
        title: 'Sign-in failed',
        message:
          'The identity provider returned an error svc-proxy does not recognise. Start again; if it keeps failing, the code is in the proxy logs.',
      };
  }
}

export function authRouter(config: SvcProxyConfig, codec: SessionCodec, logger: Logger): Router {
  const router = express.Router({ caseSensitive: true, strict: true });
  const authenticator = createAuthenticator(config, logger);
  const origin = config.publicUrl.origin;

  router.get(SIGN_IN_PATH, (req: Request, res: Response, next: NextFunction) => {
    const rd = req.query['rd'];
    const decision = decideRedirect(rd, origin);
    if (rd !== undefined && decision.kind === 'refused') {
      logger.warn(
        { rd: String(rd).slice(0, 200), reason: decision.reason },
        'post-login redirect refused; using /',
      );
    }
    const state: LoginState = { returnTo: decision.kind === 'local' ? decision.path : '/' };
    // passport-oauth2 hands an object `state` to the store (typed as string in @types).
    const options = {
      session: false,
      scope: SCOPES,
      state,
      prompt: 'select_account',
    } as unknown as passport.AuthenticateOptions;
    authenticator.authenticate('google', options)(req, res, next);
  });

  router.get(CALLBACK_PATH, (req: Request, res: Response, next: NextFunction) => {
    // `error` and `error_description` come from the query string, i.e. from whoever made the
    // link: only the code selects one of our own messages, and nothing of theirs is shown.
    const providerError = req.query['error'];
    if (providerError !== undefined) {
      const code = typeof providerError === 'string' ? providerError : '';
      const answer = providerErrorAnswer(code);
      logger.warn(
        {
          error: code.slice(0, 100),
          description: String(req.query['error_description'] ?? '').slice(0, 200),
          ip: req.socket.remoteAddress,
        },
        'sign-in callback carried an identity provider error',
      );
      errorPage(res, answer.status, answer.title, answer.message, SIGN_IN_PATH);
      return;
    }
    authenticator.authenticate(
      'google',
      { session: false },
      (
        err: unknown,
        user: SignedInIdentity | false,
        info: (Partial<SignInFailure> & { state?: LoginState }) | undefined,
      ) => {
        if (err) {
          logger.error(
            { err: (err as Error).message },
            'sign-in failed: the identity provider exchange failed',
          );
          errorPage(
            res,
            502,
            'Sign-in failed',
            'The identity provider could not complete the sign-in. Try again; if it keeps failing, check the proxy logs.',
          );
          return;
        }
        if (!user) {
          const message = info?.message ?? 'sign-in was not completed';
          if (info?.kind === 'denied') {
            errorPage(
              res,
              403,
              'Access denied',
              `${message}. Ask an administrator to add you to the allow-list.`,
            );
          } else {
            logger.warn(
              { reason: message, ip: req.socket.remoteAddress },
              'sign-in callback rejected',
            );
            errorPage(
              res,
              400,
              'Sign-in could not be verified',
              `${message}. Start again from the landing page.`,
              SIGN_IN_PATH,
            );
          }
          return;
        }
        const session = sessionOf(req);
        // Regenerate: nothing from before sign-in survives into the signed-in session.
        delete session.login;
        delete session.user;
        session.user = {
          sid: newSessionId(),
          subject: user.subject,
          email: user.email,
          ...(user.name ? { name: user.name } : {}),
          signedInAt: Date.now(),
        };
        const returnTo = safeRedirectPath(info?.state?.returnTo, origin);
        session.save().then(() => {
          logger.info({ email: user.email, rule: user.rule, sid: session.user?.sid }, 'signed in');
          res.redirect(302, returnTo);
        }, next);
      },
    )(req, res, next);
  });

  router.get(SIGN_OUT_PATH, (req: Request, res: Response) => {
    signOutPage(res, codec.currentUser(sessionOf(req))?.email);
  });

  router.post(SIGN_OUT_PATH, (req: Request, res: Response) => {
    // A cross-site form post cannot sign anyone out (SameSite=Lax already withholds the cookie;
    // this also covers browsers without SameSite).
    const requestOrigin = req.headers.origin;
    if (requestOrigin !== undefined && requestOrigin !== origin) {
      logger.warn({ origin: requestOrigin }, 'cross-origin sign-out refused');
      errorPage(
        res,
        403,
        'Sign-out refused',
        `The request came from ${requestOrigin}, not from this proxy.`,
      );
      return;
    }
    const session = sessionOf(req);
    const email = session.user?.email;
    session.destroy();
    logger.info({ email }, 'signed out');
    signedOutPage(res);
  });

  return router;
}
