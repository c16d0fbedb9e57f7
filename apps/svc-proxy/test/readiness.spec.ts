import { Harness } from './support/harness';

jest.setTimeout(30_000);

/** /readyz follows informer health, not just the first list: stale caches must not take traffic. */
describe('svc-proxy readiness', () => {
  const h = new Harness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  async function readyz(): Promise<{
    status: number;
    raw: string;
    body: { failing?: string[]; checks?: Record<string, { ok: boolean; error?: string }> };
  }> {
    const res = await fetch(`${h.url}/readyz`);
    const raw = await res.text();
    return { status: res.status, raw, body: JSON.parse(raw) as never };
  }

  async function until(status: number, what: string): Promise<Awaited<ReturnType<typeof readyz>>> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const answer = await readyz();
      if (answer.status === status) return answer;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}: ${JSON.stringify(answer)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('is not ready while the informers back off after losing the API server, and ready again once they recover', async () => {
    expect((await readyz()).status).toBe(200);
    const port = Number(new URL(h.kube.url).port);
    await h.kube.stop();
    const failing = await until(503, 'not ready');
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
    await until(200, 'ready again');
  });
});
