import type { AccessPolicy } from '../config';
import { decideAccess, splitEmail, type ProviderIdentity } from './email-policy';

const policy: AccessPolicy = {
  emails: new Set(['alice@example.com']),
  domains: new Set(['ops.example.com']),
};
const who = (email: string | undefined, emailVerified: unknown = true): ProviderIdentity => ({
  subject: '1',
  email,
  emailVerified,
  name: undefined,
});

describe('access decisions', () => {
  it.each([
    ['alice@example.com', 'email'],
    ['ALICE@Example.COM', 'email'],
    ['carol@ops.example.com', 'domain'],
  ])('allows %s by %s', (email, rule) => {
    expect(decideAccess(who(email), policy)).toEqual({
      kind: 'allowed',
      email: email.toLowerCase(),
      rule,
    });
  });

  it.each([
    ['unverified', who('alice@example.com', false)],
    ['verified as the string "true"', who('alice@example.com', 'true')],
    ['verification missing', { ...who('alice@example.com'), emailVerified: undefined }],
    ['no email', who(undefined)],
    ['two @', who('alice@example.com@evil.com')],
    ['quoted local part', who('"alice@example.com"@evil.com')],
    ['suffix of an allowed domain', who('eve@evilops.example.com')],
    ['allowed domain as a subdomain of another', who('eve@ops.example.com.evil.com')],
    ['subdomain of an allowed domain', who('eve@x.ops.example.com')],
    ['whitespace', who('alice@example.com ')],
    ['newline', who('eve@evil.com\n@ops.example.com')],
    ['not on any list', who('mallory@example.org')],
  ])('denies: %s', (_label, identity) => {
    const d = decideAccess(identity, policy);
    expect(d.kind).toBe('denied');
  });

  it('explains denials', () => {
    const d = decideAccess(who('alice@example.com', false), policy);
    expect(d).toEqual({
      kind: 'denied',
      reason: 'email alice@example.com is not verified by the provider',
    });
  });

  it('splits only plain addresses', () => {
    expect(splitEmail('a@b.co')).toEqual({ local: 'a', domain: 'b.co' });
    expect(splitEmail('a@b')).toBeUndefined();
    expect(splitEmail('@b.co')).toBeUndefined();
    expect(splitEmail('a@@b.co')).toBeUndefined();
  });

  describe('Unicode case folding cannot reach an allow-listed address', () => {
    const folding: AccessPolicy = {
      emails: new Set(['kate@other.com', 'sam@other.com', 'iris@other.com', 'δ@allowed.com']),
      domains: new Set(['ops.example.com']),
    };
    it.each([
      ['KELVIN SIGN', '\u212Aate@other.com'],
      ['long s', '\u017Fam@other.com'],
      ['dotless i', '\u0131ris@other.com'],
      ['fullwidth letters', '\uFF4B\uFF41\uFF54\uFF45@other.com'],
      ['KELVIN SIGN under an allowed domain', '\u212Aate@ops.example.com'],
      ['non-ASCII under an allowed domain', 'δ@ops.example.com'],
      ['fullwidth domain', 'kate@\uFF4Fther.com'],
    ])('denies %s', (_label, email) => {
      expect(decideAccess(who(email), folding).kind).toBe('denied');
    });

    it('still folds ASCII case, and allows a non-ASCII address listed exactly', () => {
      expect(decideAccess(who('KATE@Other.com'), folding)).toEqual({
        kind: 'allowed',
        email: 'kate@other.com',
        rule: 'email',
      });
      expect(decideAccess(who('δ@allowed.com'), folding)).toEqual({
        kind: 'allowed',
        email: 'δ@allowed.com',
        rule: 'email',
      });
      // Δ is not folded to δ: only A–Z are.
      expect(decideAccess(who('Δ@allowed.com'), folding).kind).toBe('denied');
    });
  });
});
