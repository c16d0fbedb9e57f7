import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { sessionOf } from './session';

/** Passed through passport as `state` on the way out, handed back by verify() on the way in. */
export interface LoginState {
  readonly returnTo: string;
}

type StoreCallback = (err: Error | null, handle?: string) => void;
type VerifyCallback = (
  err: Error | null,
  ok: string | false,
  state?: LoginState | { message: string },
) => void;

const MAX_LOGIN_AGE_MS = 10 * 60 * 1000;

function sameHandle(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * passport-oauth2 state store keeping `state` and the PKCE code verifier in the sealed session
 * cookie. passport-oauth2's own stores assume express-session (a mutable server-side req.session);
 * ours must save the cookie before passport sends the redirect, so it awaits save() first.
 * The method arities (5 and 3) are what passport-oauth2 dispatches on.
 */
export class CookieStateStore {
  store(
    req: IncomingMessage,
    verifier: string,
    state: unknown,
    _meta: unknown,
    callback: StoreCallback,
  ): void {
    const session = sessionOf(req);
    const handle = randomBytes(24).toString('base64url');
    const returnTo = (state as Partial<LoginState> | undefined)?.returnTo ?? '/';
    session.login = { handle, codeVerifier: verifier, returnTo, startedAt: Date.now() };
    session.save().then(
      () => callback(null, handle),
      (error: unknown) => callback(error as Error),
    );
  }

  verify(req: IncomingMessage, providedState: unknown, callback: VerifyCallback): void {
    const session = sessionOf(req);
    const login = session.login;
    // One use only: a replayed callback finds nothing.
    delete session.login;
    if (!login) {
      callback(null, false, {
        message:
          'no sign-in in progress in this browser (cookie missing, expired or from another browser)',
      });
      return;
    }
    if (typeof providedState !== 'string' || !sameHandle(providedState, login.handle)) {
      callback(null, false, {
        message: "the state parameter does not match this browser's sign-in",
      });
      return;
    }
    if (Date.now() - login.startedAt > MAX_LOGIN_AGE_MS) {
      callback(null, false, { message: 'the sign-in took longer than 10 minutes; start again' });
      return;
    }
    callback(null, login.codeVerifier, { returnTo: login.returnTo });
  }
}
