import type { AddressInfo } from 'node:net';
import { Harness } from './support/harness';

jest.setTimeout(30_000);

interface Readyz {
  status: number;
  raw: string;
  body: { failing?: string[]; checks?: Record<string, { ok: boolean; error?: string }> };
}

async function readyz(h: Harness): Promise<Readyz> {
  const res = await fetch(`${h.url}/readyz`);
  const raw = await res.text();
  return { status: res.status, raw, body: JSON.parse(raw) as never };
}

/** Polls /readyz until it answers `status` (the informers' backoff decides when, not us). */
async function until(h: Harness, status: number, what: string): Promise<Readyz> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const answer = await readyz(h);
    if (answer.status === status) return answer;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(answer)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** /readyz follows informer health, not just the first list: stale caches must not take traffic. */
describe('svc-proxy readiness', () => {
  const h = new Harness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  it('is not ready while the informers back off after losing the API server, and ready again once they recover', async () => {
    expect((await readyz(h)).status).toBe(200);
    const port = Number(new URL(h.kube.url).port);
    await h.kube.stop();
    const failing = await until(h, 503, 'not ready');
    expect(failing.body.failing).toEqual(['kubernetes-informers']);
    // Unauthenticated: what is not ready, never the API server's error text or addresses.
    expect(failing.body.checks?.['kubernetes-informers']?.error).toBe(
      'discovery is failing, targets may be stale (details: /debug/vars)',
    );
    expect(failing.raw).not.toMatch(/backing-off|ECONNREFUSED|127\.0\.0\.1/);
    expect(failing.raw).not.toContain(`:${port}`);
    // The details are behind sign-in, on /debug/vars.
    const operator = await h.signedInBrowser();
    const vars = await (await operator.request(`${h.url}/debug/vars`)).text();
    expect(vars).toMatch(/backing-off/);
    // The cached targets are still served meanwhile (synced stays true).
    expect(h.proxy.directory.synced).toBe(true);
    await h.kube.start(port);
    await until(h, 200, 'ready again');
  });
});

/** With ADMIN_PORT, /debug/vars is only on the admin listener: /readyz must send operators there. */
describe('svc-proxy readiness with an admin port', () => {
  const h = new Harness();
  beforeAll(() => h.start({ ADMIN_PORT: '0' }));
  afterAll(() => h.stop());

  it('names the admin port as where the details are, and they are there', async () => {
    const port = Number(new URL(h.kube.url).port);
    await h.kube.stop();
    const failing = await until(h, 503, 'not ready');
    const adminPort = (h.proxy.obs.adminServer?.address() as AddressInfo).port;
    expect(failing.body.checks?.['kubernetes-informers']?.error).toBe(
      `discovery is failing, targets may be stale (details: /debug/vars on the admin port, ${adminPort})`,
    );
    expect(failing.raw).not.toMatch(/backing-off|ECONNREFUSED|127\.0\.0\.1/);
    const vars = await fetch(`http://127.0.0.1:${adminPort}/debug/vars`);
    expect(vars.status).toBe(200);
    expect(await vars.text()).toMatch(/backing-off/);
    // Not on the public port, even signed in: the old message sent operators to a 404.
    const operator = await h.signedInBrowser();
    expect((await operator.request(`${h.url}/debug/vars`)).status).toBe(404);
    await h.kube.start(port);
    await until(h, 200, 'ready again');
  });
});
