import { headersFromRaw } from './relay';

const raw = (...lines: [string, string][]): Buffer[] =>
  lines.flatMap(([name, value]) => [Buffer.from(name, 'latin1'), Buffer.from(value, 'latin1')]);

describe("headersFromRaw: undici's raw answer headers read as Node's IncomingMessage reads them", () => {
  it('lower-cases names and keeps values as sent', () => {
    expect(
      headersFromRaw(raw(['Content-Type', 'text/html; charset=utf-8'], ['X-Pod', 'cart-0'])),
    ).toEqual({ 'content-type': 'text/html; charset=utf-8', 'x-pod': 'cart-0' });
  });

  it('keeps only the first Location (a second one cannot smuggle an off-origin redirect)', () => {
    const headers = headersFromRaw(
      raw(['Location', '/debug/pprof/'], ['location', 'https://evil.example/']),
    );
    expect(headers.location).toBe('/debug/pprof/');
  });

  it('keeps the first of every header Node keeps once, such as Content-Length and Content-Type', () => {
    const headers = headersFromRaw(
      raw(
        ['Content-Type', 'application/json'],
        ['Content-Type', 'text/html'],
        ['ETag', '"a"'],
        ['ETag', '"b"'],
      ),
    );
    expect(headers['content-type']).toBe('application/json');
    expect(headers.etag).toBe('"a"');
  });

  it('collects every Set-Cookie line into an array, also a single one', () => {
    expect(headersFromRaw(raw(['Set-Cookie', 'a=1']))['set-cookie']).toEqual(['a=1']);
    expect(
      headersFromRaw(raw(['Set-Cookie', 'a=1'], ['set-cookie', '_svc_proxy=x; Path=/']))[
        'set-cookie'
      ],
    ).toEqual(['a=1', '_svc_proxy=x; Path=/']);
  });

  it('joins other repeated headers with ", " (so Connection tokens and Vary are all seen)', () => {
    const headers = headersFromRaw(
      raw(
        ['Connection', 'keep-alive'],
        ['Connection', 'X-Secret'],
        ['Vary', 'Accept'],
        ['Vary', 'Origin'],
      ),
    );
    expect(headers.connection).toBe('keep-alive, X-Secret');
    expect(headers.vary).toBe('Accept, Origin');
  });

  it('reads bytes as Latin-1, like Node', () => {
    expect(headersFromRaw([Buffer.from('X-Name'), Buffer.from([0x63, 0xe9])])['x-name']).toBe(
      'c\u00e9',
    );
  });
});
