import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { AccessPolicy } from '../config';
import { errorPage } from '../web/pages';
import { decideAccess } from './email-policy';
import { SIGN_IN_PATH } from './routes';
import { sessionOf, type SessionCodec, type SessionUser } from './session';

/** Served without a session: probes must work before anyone signs in. Exact paths only. */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

const users = new WeakMap<Request, SessionUser>();

export function userOf(req: Request): SessionUser {
  const user = users.get(req);
  if (!user) throw new Error('requireUser did not run for this request');
  return user;
}

/**
 * Decisions per policy and session user. Both are immutable for the life of the process (the
 * policy is configuration, cached session data is frozen), so a decision never goes stale.
 */
const decisions = new WeakMap<AccessPolicy, WeakMap<SessionUser, boolean>>();

/** Whether a still-signed-in user would still be let in (the allow-list may have shrunk). */
export function stillAllowed(user: SessionUser, policy: AccessPolicy): boolean {
  let known = decisions.get(policy);
  if (!known) decisions.set(policy, (known = new WeakMap()));
  let allowed = known.get(user);
  if (allowed === undefined) {
    allowed =
      decideAccess(
        { subject: user.subject, email: user.email, emailVerified: true, name: user.name },
        policy,
      ).kind === 'allowed';
    known.set(user, allowed);
  }
  return allowed;
}

export function signInLocation(originalUrl: string): string {
  return `${SIGN_IN_PATH}?rd=${encodeURIComponent(originalUrl)}`;
}

/** Everything but PUBLIC_PATHS needs a signed-in, allowed user. */
export function requireUser(codec: SessionCodec, policy: AccessPolicy, logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    // The raw path is compared exactly: `/healthz/..%2fmetrics` or `/HEALTHZ` are not public.
    const rawPath = req.originalUrl.split('?', 1)[0] ?? '';
    if ((req.method === 'GET' || req.method === 'HEAD') && PUBLIC_PATHS.has(rawPath)) {
      next();
      return;
    }
    const session = sessionOf(req);
    const user = codec.currentUser(session);
    if (user && !stillAllowed(user, policy)) {
      logger.warn(
        { email: user.email, path: req.path },
        'session of a user no longer on the allow-list; signed out',
      );
      session.destroy();
      errorPage(
        res,
        403,
        'Access denied',
        `${user.email} is no longer allowed. Ask an administrator.`,
      );
      return;
    }
    if (user) {
      users.set(req, user);
      next();
      return;
    }
    const wantsPage =
      (req.method === 'GET' || req.method === 'HEAD') && req.accepts(['json', 'html']) === 'html';
    if (wantsPage) {
      res.redirect(302, signInLocation(req.originalUrl));
      return;
    }
    res.status(401).json({ error: 'authentication required', signIn: SIGN_IN_PATH });
  };
}
