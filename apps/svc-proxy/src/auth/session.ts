import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseCookies } from 'cookie';
import type { NextFunction, Request, Response } from 'express';
import { getIronSession, unsealData, type IronSession, type SessionOptions } from 'iron-session';
import type { Logger } from 'pino';
import type { SessionConfig } from '../config';

/** A signed-in operator. */
export interface SessionUser {
  /** Random per sign-in: ties audit lines to one session without exposing the cookie. */
  readonly sid: string;
  readonly subject: string;
  readonly email: string;
  readonly name?: string;
  readonly signedInAt: number;
}

/** A sign-in in progress: what the callback needs to finish it (state + PKCE verifier). */
export interface PendingLogin {
  readonly handle: string;
  readonly codeVerifier: string;
  readonly returnTo: string;
  readonly startedAt: number;
}

export interface SessionData {
  user?: SessionUser;
  login?: PendingLogin;
}

export type Session = IronSession<SessionData>;

/**
 * Cookie sessions sealed with iron (AES-256-CBC + HMAC-SHA256, with an expiry inside the seal),
 * so the proxy keeps no session store and any replica can read any cookie.
 */
export class SessionCodec {
  readonly options: SessionOptions;

  constructor(readonly config: SessionConfig) {
    this.options = {
      cookieName: config.cookieName,
      password: { ...config.secrets },
      ttl: config.ttlSeconds,
      cookieOptions: {
        httpOnly: true,
        secure: !config.insecureCookie,
        // Lax, not Strict: the OAuth callback is a top-level cross-site navigation from the
        // provider and must carry the pending-login cookie; Lax still withholds it from
        // cross-site subrequests and POSTs.
        sameSite: 'lax',
        path: '/',
      },
    };
  }

  open(req: IncomingMessage, res: ServerResponse): Promise<Session> {
    return getIronSession<SessionData>(req, res, this.options);
  }

  /** Read-only access where there is no response to set a cookie on (WebSocket upgrades). */
  async read(cookieHeader: string | undefined): Promise<SessionData> {
    const value = cookieHeader ? parseCookies(cookieHeader)[this.config.cookieName] : undefined;
    if (!value) return {};
    return unsealData<SessionData>(value, { password: { ...this.config.secrets }, ttl: this.config.ttlSeconds });
  }

  /** A still-valid signed-in user, or undefined (absolute expiry is enforced here too). */
  currentUser(data: SessionData, now = Date.now()): SessionUser | undefined {
    const user = data.user;
    if (!user || typeof user.email !== 'string' || typeof user.signedInAt !== 'number') return undefined;
    if (now - user.signedInAt > this.config.ttlSeconds * 1000) return undefined;
    return user;
  }

  hasCookie(cookieHeader: string | undefined): boolean {
    return !!cookieHeader && parseCookies(cookieHeader)[this.config.cookieName] !== undefined;
  }
}

export const newSessionId = (): string => randomBytes(12).toString('base64url');

const sessions = new WeakMap<IncomingMessage, Session>();

export function sessionOf(req: IncomingMessage): Session {
  const session = sessions.get(req);
  if (!session) throw new Error('session middleware did not run for this request');
  return session;
}

/** Opens the sealed cookie session for every request; rejected cookies are logged, not fatal. */
export function sessionMiddleware(codec: SessionCodec, logger: Logger) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      let session: Session;
      try {
        session = await codec.open(req, res);
      } catch (error) {
        // iron-session returns an empty session for bad MACs and expired seals but throws on
        // some malformed input; either way the cookie is ignored, as if absent.
        logger.warn(
          { path: req.path, ip: req.socket.remoteAddress, err: (error as Error).message },
          'session cookie rejected: malformed',
        );
        req.headers.cookie = withoutCookie(req.headers.cookie, codec.config.cookieName);
        session = await codec.open(req, res);
      }
      sessions.set(req, session);
      const empty = session.user === undefined && session.login === undefined;
      if (empty && codec.hasCookie(req.headers.cookie)) {
        logger.warn(
          { path: req.path, ip: req.socket.remoteAddress },
          'session cookie rejected: tampered, forged, expired or sealed with an unknown secret',
        );
      } else if (session.user && !codec.currentUser(session)) {
        logger.info({ email: session.user.email }, 'session expired');
        delete session.user;
      }
      next();
    } catch (error) {
      next(error);
    }
  };
}

/**
 * The Cookie header without the proxy's own session cookie: upstream pods must never see it.
 * Works on the raw header so other cookies reach the pod byte for byte.
 */
export function withoutCookie(cookieHeader: string | undefined, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  const kept = cookieHeader
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => pair.length > 0 && pair.split('=', 1)[0]?.trim() !== name);
  return kept.length > 0 ? kept.join('; ') : undefined;
}
