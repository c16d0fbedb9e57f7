import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseCookies, serialize as serializeCookie, type SerializeOptions } from 'cookie';
import type { NextFunction, Request, Response } from 'express';
import { sealData, unsealData } from 'iron-session';
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

/** The request's session: its data plus the two ways to change the cookie. */
export interface Session extends SessionData {
  /** Seals the current data into the cookie of this response. */
  save(): Promise<void>;
  /** Clears the data and expires the cookie. */
  destroy(): void;
}

const UNSEAL_CACHE_SIZE = 10_000;
/** Upper bound when a seal carries no expiry of its own (iron-session always sets one). */
const UNSEAL_CACHE_FALLBACK_MS = 60_000;

/** The expiry iron writes into a seal (`Fe26.2*…*<expiration ms>*…`), if any. */
function sealExpiry(sealed: string): number | undefined {
  const expiration = sealed.split('~', 1)[0]?.split('*')[5];
  return expiration && /^\d+$/.test(expiration) ? Number(expiration) : undefined;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Cookie sessions sealed with iron (AES-256-CBC + HMAC-SHA256, expiry inside the seal) through
 * iron-session's sealData/unsealData, so the proxy keeps no session store and any replica can
 * read any cookie. iron-session's getIronSession() is not used: it unseals on every request, and
 * unsealing (two PBKDF2 derivations through WebCrypto) dominated the proxy's per-request cost.
 * Here verified seals are remembered until the expiry inside the seal, keyed by the exact
 * cookie value (a bounded LRU), so a cached entry is only ever returned for a byte-identical
 * cookie that already passed verification with one of this process's secrets. Secrets are
 * configuration: rotating them restarts the process, which starts with an empty cache. Cached
 * data is frozen and shared, never copied per request.
 */
export class SessionCodec {
  private readonly cookieOptions: SerializeOptions;
  private readonly password: Record<string, string>;
  private readonly verified = new Map<string, { data: SessionData; until: number }>();
  private static readonly EMPTY: SessionData = Object.freeze({});

  constructor(readonly config: SessionConfig) {
    this.password = { ...config.secrets };
    this.cookieOptions = {
      httpOnly: true,
      secure: !config.insecureCookie,
      // Lax, not Strict: the OAuth callback is a top-level cross-site navigation from the
      // provider and must carry the pending-login cookie; Lax still withholds it from
      // cross-site subrequests and POSTs.
      sameSite: 'lax',
      path: '/',
    };
  }

  /**
   * The session data of a Cookie header when it needs no unsealing: {} without our cookie, the
   * cached data of a seal verified before and not yet expired; undefined when the seal must be
   * verified first (read() does that). Lets the hot path skip a promise per request.
   */
  readCached(cookieHeader: string | undefined): SessionData | undefined {
    const value = cookieHeader ? parseCookies(cookieHeader)[this.config.cookieName] : undefined;
    if (!value) return SessionCodec.EMPTY;
    return this.cached(value, Date.now());
  }

  private cached(value: string, now: number): SessionData | undefined {
    const hit = this.verified.get(value);
    if (!hit) return undefined;
    this.verified.delete(value);
    if (hit.until <= now) return undefined;
    // Most recently used last: the oldest entry is the first one evicted.
    this.verified.set(value, hit);
    return hit.data;
  }

  /** The session data in a Cookie header; {} when absent, forged, tampered with or expired. */
  async read(cookieHeader: string | undefined): Promise<SessionData> {
    const value = cookieHeader ? parseCookies(cookieHeader)[this.config.cookieName] : undefined;
    if (!value) return SessionCodec.EMPTY;
    const now = Date.now();
    const hit = this.cached(value, now);
    if (hit) return hit;
    let data: SessionData;
    try {
      data = await unsealData<SessionData>(value, {
        password: this.password,
        ttl: this.config.ttlSeconds,
      });
    } catch {
      return {}; // malformed beyond what unsealData itself maps to {}
    }
    if (data.user === undefined && data.login === undefined) return data;
    const until = sealExpiry(value) ?? now + UNSEAL_CACHE_FALLBACK_MS;
    if (this.verified.size >= UNSEAL_CACHE_SIZE) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    deepFreeze(data);
    this.verified.set(value, { data, until });
    return data;
  }

  async open(req: IncomingMessage, res: ServerResponse): Promise<Session> {
    const data = await this.read(req.headers.cookie);
    const session: Session = {
      ...data,
      save: async () => {
        const sealed = await sealData(
          {
            ...(session.user ? { user: session.user } : {}),
            ...(session.login ? { login: session.login } : {}),
          },
          { password: this.password, ttl: this.config.ttlSeconds },
        );
        // Expire the cookie a minute before the seal, as iron's clock-skew allowance is a minute.
        this.setCookie(res, sealed, this.config.ttlSeconds - 60);
      },
      destroy: () => {
        delete session.user;
        delete session.login;
        this.setCookie(res, '', 0);
      },
    };
    return session;
  }

  private setCookie(res: ServerResponse, value: string, maxAge: number): void {
    const line = serializeCookie(this.config.cookieName, value, { ...this.cookieOptions, maxAge });
    const existing = res.getHeader('set-cookie');
    const others = (
      Array.isArray(existing) ? existing : existing === undefined ? [] : [String(existing)]
    ).filter((c) => !c.startsWith(`${this.config.cookieName}=`));
    res.setHeader('set-cookie', [...others, line]);
  }

  /** A still-valid signed-in user, or undefined (absolute expiry is enforced here too). */
  currentUser(data: SessionData, now = Date.now()): SessionUser | undefined {
    const user = data.user;
    if (!user || typeof user.email !== 'string' || typeof user.signedInAt !== 'number')
      return undefined;
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
      const session = await codec.open(req, res);
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
