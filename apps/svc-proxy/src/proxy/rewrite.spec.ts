import { htmlRewriter, mayNeedRewrite, rewriteHtml, rewriteUrl, yieldingSlices } from './rewrite';

const ctx = { prefix: '/proxy/shop/cart/cart-0', upstreamHost: '10.0.0.1:8080' };

describe('rewriting pod URLs onto the proxy', () => {
  it.each([
    ['/debug/pprof/', '/proxy/shop/cart/cart-0/debug/pprof/'],
    ['http://10.0.0.1:8080/debug/vars?x=1', '/proxy/shop/cart/cart-0/debug/vars?x=1'],
    ['//10.0.0.1:8080/metrics', '/proxy/shop/cart/cart-0/metrics'],
    ['http://10.0.0.1:8080', '/proxy/shop/cart/cart-0/'],
    ['goroutine?debug=1', 'goroutine?debug=1'],
    ['https://example.com/x', 'https://example.com/x'],
    ['//example.com/x', '//example.com/x'],
    ['/proxy/shop/cart/cart-0/already', '/proxy/shop/cart/cart-0/already'],
    ['#top', '#top'],
  ])('%s -> %s', (from, to) => {
    expect(rewriteUrl(from, ctx)).toBe(to);
  });

  it('rewrites absolute links in HTML, leaves relative ones and script text alone', async () => {
    const page =
      `<!DOCTYPE html><html><head><meta http-equiv="refresh" content="5; url=/x"><link href="/a.css" rel=stylesheet></head>` +
      `<body><a href='/debug/vars'>v</a><a href="heap?debug=1">h</a><A HREF=http://10.0.0.1:8080/m>m</A>` +
      `<img src="/i.png"><form action="/debug/pprof/symbol"></form><a href="https://other/">o</a>` +
      `<script>location.href = "/debug/vars"</script><p title="/not-a-link">t</p></body></html>`;
    const out = await rewriteHtml(page, ctx);
    expect(out).toContain('content="5; url=/proxy/shop/cart/cart-0/x"');
    expect(out).toContain('href="/proxy/shop/cart/cart-0/a.css"');
    expect(out).toContain('href="/proxy/shop/cart/cart-0/debug/vars"');
    expect(out).toContain('<a href="heap?debug=1">h</a>');
    expect(out).toContain('href="/proxy/shop/cart/cart-0/m"');
    expect(out).toContain('src="/proxy/shop/cart/cart-0/i.png"');
    expect(out).toContain('action="/proxy/shop/cart/cart-0/debug/pprof/symbol"');
    expect(out).toContain('<a href="https://other/">o</a>');
    expect(out).toContain('<script>location.href = "/debug/vars"</script>');
    expect(out).toContain('<p title="/not-a-link">t</p>');
  });

  it('passes untouched markup through byte for byte', async () => {
    const page =
      "<html><body><table><tr><td><a href='allocs?debug=1'>allocs</a></td></tr></table></body></html>";
    expect(await rewriteHtml(page, ctx)).toBe(page);
  });

  it.each([
    ['<a href="/x">', true],
    ["<a href=' /x'>", true],
    ['<a href=http://10.0.0.1:8080/>', true],
    ['<a href="&#47;x">', true],
    ['<meta http-equiv=refresh content="0;/x">', true],
    ["<a href='allocs?debug=1'>allocs</a><p>/debug/pprof/</p>", false],
  ])('decides whether %j may need rewriting: %s', (page, expected) => {
    expect(mayNeedRewrite(page)).toBe(expected);
  });

  it('rewrites a character-reference URL the quick check cannot read', async () => {
    expect(await rewriteHtml('<a href="&#47;x">x</a>', ctx)).toBe(
      '<a href="/proxy/shop/cart/cart-0/x">x</a>',
    );
  });

  it('streams: tags and surrogate pairs cut across slices come out whole', async () => {
    const page = `<p>\u{1F600}</p>${'<a href="/debug/vars">v</a>'.repeat(50)}`;
    const slices = yieldingSlices(7);
    const rewriter = htmlRewriter(ctx);
    let out = '';
    rewriter.on('data', (c: string) => (out += c));
    const done = new Promise((resolve) => rewriter.on('end', resolve));
    slices.pipe(rewriter);
    // An odd split inside the emoji's surrogate pair, then the rest.
    slices.write(page.slice(0, 4));
    slices.end(page.slice(4));
    await done;
    expect(out).toBe(
      `<p>\u{1F600}</p>${'<a href="/proxy/shop/cart/cart-0/debug/vars">v</a>'.repeat(50)}`,
    );
  });

  it('empties a <meta> refresh that leaves the origin, keeps one that stays', async () => {
    const strict = { ...ctx, publicOrigin: 'https://debug.example.com' };
    expect(
      await rewriteHtml(
        '<meta http-equiv="refresh" content="0; url=https://evil.example/">',
        strict,
      ),
    ).toBe('<meta http-equiv="refresh" content="">');
    expect(await rewriteHtml('<meta http-equiv=Refresh content="0;//evil.example/">', strict)).toBe(
      '<meta http-equiv="Refresh" content="">',
    );
    expect(await rewriteHtml('<meta http-equiv="refresh" content="5; url=/x">', strict)).toBe(
      '<meta http-equiv="refresh" content="5; url=/proxy/shop/cart/cart-0/x">',
    );
    expect(await rewriteHtml('<meta http-equiv="refresh" content="30">', strict)).toBe(
      '<meta http-equiv="refresh" content="30">',
    );
  });
});
