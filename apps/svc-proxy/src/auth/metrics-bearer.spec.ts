import { bearerMatches } from './metrics-bearer';

describe('metrics bearer token comparison', () => {
  it('accepts only the exact token, whatever the lengths involved', () => {
    const token = 'a'.repeat(40);
    expect(bearerMatches(token, token)).toBe(true);
    expect(bearerMatches(token.slice(1), token)).toBe(false);
    expect(bearerMatches(`${token}a`, token)).toBe(false);
    expect(bearerMatches(token.toUpperCase(), token)).toBe(false);
    expect(bearerMatches('', token)).toBe(false);
  });
});
