import { Harness } from './support/harness';

jest.setTimeout(30_000);

describe('svc-proxy end to end', () => {
  const h = new Harness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  it('signs in through the real OAuth2 flow and lists annotated pods', async () => {
    const browser = await h.signedInBrowser().catch((e) => { console.log(JSON.stringify(h.logs.filter((l) => l.level !== 'debug'), null, 1)); throw e; });
    const res = await browser.request(`${h.url}/`);
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(body).toContain('cart-0');
    expect(body).toContain('agent-0');
    expect(body).not.toContain('db-0');
  });
});
