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
  return { local, domain: asciiLowerCase(domain) };
}

/**
 * Lower-cases A–Z only. String.prototype.toLowerCase() folds far more: KELVIN SIGN (U+212A)
 * becomes "k", so a provider-reported `\u212Aate@other.com` would match an allow-listed
 * `kate@other.com` (and Go's strings.ToLower, which oauth2-proxy uses, folds it the same way).
 * Other traps: `ſ` (U+017F) and `ı` (U+0131) upper-case to ASCII, fullwidth letters fold under
 * NFKC. Folding nothing but ASCII keeps such addresses distinct from every listed one.
 */
export const asciiLowerCase = (value: string): string =>
  value.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());

// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

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
  const normalised = asciiLowerCase(email);
  if (policy.emails.has(normalised)) return { kind: 'allowed', email: normalised, rule: 'email' };
  // A non-ASCII address is only let in when an administrator listed it exactly (above): under
  // a domain rule, a look-alike local part (`\u212Aate@…`) could be read as another user's
  // name by a pod that folds Unicode case or normalises.
  if (!ASCII.test(email))
    return {
      kind: 'denied',
      reason: `email ${JSON.stringify(email)} contains non-ASCII characters; such addresses are only allowed when listed exactly in ALLOWED_EMAILS`,
    };
  if (policy.domains.has(parts.domain))
    return { kind: 'allowed', email: normalised, rule: 'domain' };
  return {
    kind: 'denied',
    reason: `email ${normalised} is not in ALLOWED_EMAILS and its domain is not in ALLOWED_DOMAINS`,
  };
}
