import { Harness } from './support/harness';

jest.setTimeout(30_000);

describe('timeouts and shutdown', () => {
  const h = new Harness();
  beforeAll(() => h.start({}, { proxyTimeoutMs: 800 }));
  afterAll(() => h.stop());

  it('answers 504 naming the pod when it does not answer in time, and audits it', async () => {
    const browser = await h.signedInBrowser();
    const res = await browser.request(
      `${h.url}/proxy/shop/cart/cart-0/debug/pprof/profile?seconds=5`,
    );
    expect(res.status).toBe(504);
    expect(await res.text()).toContain('shop/cart/cart-0 (127.0.0.2:');
    // The audit line is written when the proxy's side of the response closes, which need not
    // come before the client has read the body.
    const audited = () =>
      h.auditLines().find((l) => String(l['path']).includes('profile?seconds=5'));
    await h.waitFor(() => audited() !== undefined, 'audit line');
    expect(audited()).toMatchObject({
      status: 504,
      outcome: 'upstream-error',
      target: { namespace: 'shop', service: 'cart', pod: 'cart-0' },
    });
  });

  it('audits requests the operator abandons before the pod answers', async () => {
    const browser = await h.signedInBrowser();
    const controller = new AbortController();
    const pending = browser
      .request(`${h.url}/proxy/shop/cart/cart-1/debug/pprof/profile?seconds=3`, {
        signal: controller.signal,
      })
      .catch(() => undefined);
    await h.waitFor(
      () => h.pods['cart-1'].seen.some((r) => r.url.includes('profile?seconds=3')),
      'request at the pod',
    );
    controller.abort();
    await pending;
    await h.waitFor(
      () =>
        h
          .auditLines()
          .some((l) => String(l['path']).includes('cart-1/debug/pprof/profile?seconds=3')),
      'audit line',
    );
    expect(
      h
        .auditLines()
        .find((l) => String(l['path']).includes('cart-1/debug/pprof/profile?seconds=3')),
    ).toMatchObject({
      outcome: 'client-aborted',
      target: { namespace: 'shop', service: 'cart', pod: 'cart-1' },
      email: 'alice@example.com',
    });
  });

  it('shuts down cleanly with a live-update stream open', async () => {
    const browser = await h.signedInBrowser();
    const events = await browser.request(`${h.url}/api/targets/events`);
    expect(events.status).toBe(200);
    const outcome = await h.proxy.obs.shutdown('test');
    expect(outcome).toEqual({ clean: true });
    expect(h.proxy.directory.status()).toEqual({
      services: { phase: 'stopped' },
      endpointslices: { phase: 'stopped' },
    });
    await expect(fetch(`${h.url}/healthz`)).rejects.toThrow();
  });
});
