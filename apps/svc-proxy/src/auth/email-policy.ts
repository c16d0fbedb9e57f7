import type { AccessPolicy } from '../config';

/** What the identity provider told us about the user, before any decision. */
export interface ProviderIdentity {
  readonly subject: string;
  readonly email: string | undefined;
  readonly emailVerified: unknown;
  readonly name: string | undefined;
}

export type AccessDecision =
  | { readonly kind: 'allowed'; readonly email: string; readonly rule: 'email' | 'domain' }
  | { readonly kind: 'denied'; readonly reason: string };

/**
 * Exactly one `@`, a non-empty local part and a dotted domain, no whitespace or controls.
 * Stricter than RFC 5322 on purpose: quoted local parts like `"a@b"@evil.com` are how
 * allow-lists comparing "the part after the @" get fooled.
 */
export function splitEmail(email: string): { local: string; domain: string } | undefined {
  const parts = email.split('@');
  if (parts.length !== 2) return undefined;
  const [local, domain] = parts as [string, string];
  // eslint-disable-next-line no-control-regex
  if (!local || !domain || /[\s\u0000-\u001f\u007f"]/.test(email)) return undefined;
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i.test(domain))
    return undefined;
  return { local, domain: domain.toLowerCase() };
}

export function decideAccess(identity: ProviderIdentity, policy: AccessPolicy): AccessDecision {
  const email = identity.email;
  if (!email)
    return {
      kind: 'denied',
      reason: 'the provider returned no email address (is the "email" scope granted?)',
    };
  // Google sends a boolean; a string "true" from some other provider is not good enough.
  if (identity.emailVerified !== true)
    return { kind: 'denied', reason: `email ${email} is not verified by the provider` };
  const parts = splitEmail(email);
  if (!parts)
    return {
      kind: 'denied',
      reason: `email ${JSON.stringify(email)} is not a plain address with exactly one "@"`,
    };
  const normalised = email.toLowerCase();
  if (policy.emails.has(normalised)) return { kind: 'allowed', email: normalised, rule: 'email' };
  if (policy.domains.has(parts.domain))
    return { kind: 'allowed', email: normalised, rule: 'domain' };
  return {
    kind: 'denied',
    reason: `email ${normalised} is not in ALLOWED_EMAILS and its domain is not in ALLOWED_DOMAINS`,
  };
}
