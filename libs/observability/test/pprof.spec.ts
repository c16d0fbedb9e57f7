import { MAX_PROFILE_SECONDS, parseSeconds } from '../src';
import {
  type DecodedProfile,
  decodePprof,
  fetchBuffer,
  spinShare,
  spinUntil,
  startProfiledService,
  topFunctions,
} from './pprof-support';

// Objects the heap profile must find alive, allocated by a function with a name of its own.
let retained: number[][] = [];
function retainForPprofTest(): void {
  for (let i = 0; i < 400; i++) retained.push(new Array<number>(10_000).fill(i));
}

function expectMostlySpinning(profile: DecodedProfile): void {
  const share = spinShare(profile);
  if (share < 0.5)
    throw new Error(
      `the spin is ${(100 * share).toFixed(0)} % of the profile, expected most of it; it holds ${topFunctions(profile)}`,
    );
}

async function metricLine(url: string, prefix: string): Promise<string | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').find((line) => line.startsWith(prefix));
}

/** Polls until `predicate` holds; the deadline only stops a broken test from hanging. */
async function eventually(predicate: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const profilerActive = async (url: string) =>
  (await metricLine(url, 'conveyor_pprof_active{'))?.endsWith(' 1') === true;

async function profilerStopped(url: string): Promise<void> {
  await eventually(async () => !(await profilerActive(url)), 'the profile stopped');
}

/** Spinning before the profiler started would leave the profile without the spin. */
async function profilerRunning(url: string): Promise<void> {
  await eventually(() => profilerActive(url), 'the profile started');
}

describe('/debug/pprof', () => {
  let svc: Awaited<ReturnType<typeof startProfiledService>>;
  afterEach(async () => {
    await svc?.obs.shutdown('test over');
    retained = [];
  });

  it('GET /debug/pprof/profile is a gzipped pprof CPU profile holding the code that ran', async () => {
    svc = await startProfiledService();
    const pending = fetchBuffer(`${svc.url}/debug/pprof/profile?seconds=4`);
    await profilerRunning(svc.url);
    const res = await spinUntil(pending);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="profile"');
    expect(res.body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // gzip magic
    const profile = decodePprof(res.body);
    expect(profile.sampleTypes).toEqual(['samples/count', 'cpu/nanoseconds']);
    // The process spun for the whole profile: most of its CPU time is the spin.
    expectMostlySpinning(profile);
    expect(profile.firstValueByFunction.get('spinUntil')).toBeGreaterThan(0);
    // Samples that caught the event loop waiting are not CPU samples.
    expect(profile.firstValueByFunction.get('(idle)') ?? 0).toBe(0);
    expect(await metricLine(svc.url, 'conveyor_pprof_requests_total{')).toContain(
      'profile="profile",outcome="completed"',
    );
  });

  it('GET /debug/pprof/heap is a gzipped pprof heap profile holding the live allocations', async () => {
    svc = await startProfiledService();
    retainForPprofTest();
    const res = await fetchBuffer(`${svc.url}/debug/pprof/heap`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="heap"');
    const profile = decodePprof(res.body);
    expect(profile.sampleTypes).toEqual(['inuse_objects/count', 'inuse_space/bytes']);
    // 400 arrays of 10,000 numbers (~32 MB) at one sample per 512 KiB: dozens of samples.
    expect(profile.valueByFunction.get('retainForPprofTest')).toBeGreaterThan(4 * 1024 * 1024);
  });

  it('GET /debug/pprof/wall is a wall-time profile of the busy main thread (Node only)', async () => {
    svc = await startProfiledService();
    const pending = fetchBuffer(`${svc.url}/debug/pprof/wall?seconds=4`);
    await profilerRunning(svc.url);
    const res = await spinUntil(pending);
    expect(res.status).toBe(200);
    const profile = decodePprof(res.body);
    expect(profile.sampleTypes).toEqual(['sample/count', 'wall/nanoseconds']);
    // The main thread spun from the profile's start to its answer: most of its wall time.
    expectMostlySpinning(profile);
  });

  it('answers 429 to a second profile while one is running, then serves again', async () => {
    svc = await startProfiledService();
    // A long profile ended by its client, so a slow machine cannot finish it mid-check.
    const aborter = new AbortController();
    const first = fetch(`${svc.url}/debug/pprof/profile?seconds=60`, {
      signal: aborter.signal,
    }).catch((error: unknown) => error);
    await profilerRunning(svc.url);
    for (const path of ['profile?seconds=1', 'wall?seconds=1', 'heap']) {
      const busy = await fetch(`${svc.url}/debug/pprof/${path}`);
      expect(busy.status).toBe(429);
      expect(Number(busy.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await busy.text()).toMatch(
        /a 60 s CPU profile started \d+ s ago is still running: only one profile runs at a time in a process\. Retry in about \d+ s\./,
      );
    }
    aborter.abort();
    await first;
    await profilerStopped(svc.url);
    expect((await fetchBuffer(`${svc.url}/debug/pprof/heap`)).status).toBe(200);
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(
      /conveyor_pprof_requests_total\{profile="profile",outcome="busy",service="pprof-svc"\} 1/,
    );
    expect(metrics).toMatch(
      /conveyor_pprof_requests_total\{profile="heap",outcome="busy",service="pprof-svc"\} 1/,
    );
  });

  it('is one profile per process, across services sharing it (the local stack)', async () => {
    svc = await startProfiledService();
    const other = await startProfiledService();
    try {
      const aborter = new AbortController();
      const first = fetch(`${svc.url}/debug/pprof/wall?seconds=60`, {
        signal: aborter.signal,
      }).catch((error: unknown) => error);
      await profilerRunning(svc.url);
      expect((await fetch(`${other.url}/debug/pprof/heap`)).status).toBe(429);
      aborter.abort();
      await first;
      await profilerStopped(svc.url);
      expect((await fetchBuffer(`${other.url}/debug/pprof/heap`)).status).toBe(200);
    } finally {
      await other.obs.shutdown('test over');
    }
  });

  it.each([
    ['0', 'seconds=0 is out of range'],
    [String(MAX_PROFILE_SECONDS + 1), `seconds=${MAX_PROFILE_SECONDS + 1} is out of range`],
    ['abc', 'seconds="abc" is not a whole number'],
    ['1.5', 'seconds="1.5" is not a whole number'],
    ['-3', 'seconds="-3" is not a whole number'],
  ])('answers 400 to seconds=%s, naming the bounds', async (seconds, message) => {
    svc = await startProfiledService();
    for (const kind of ['profile', 'wall']) {
      const res = await fetch(`${svc.url}/debug/pprof/${kind}?seconds=${seconds}`);
      expect(res.status).toBe(400);
      const text = await res.text();
      expect(text).toContain(message);
      expect(text).toContain('from 1 to 120');
    }
    expect(await metricLine(svc.url, 'conveyor_pprof_requests_total{')).toContain('bad_request');
  });

  it('answers 400 to a repeated seconds parameter', async () => {
    svc = await startProfiledService();
    const res = await fetch(`${svc.url}/debug/pprof/profile?seconds=1&seconds=2`);
    expect(res.status).toBe(400);
  });

  it('defaults to 30 seconds and takes 1 to 120', () => {
    expect(parseSeconds(undefined)).toEqual({ ok: true, seconds: 30 });
    expect(parseSeconds('1')).toEqual({ ok: true, seconds: 1 });
    expect(parseSeconds('120')).toEqual({ ok: true, seconds: 120 });
    expect(parseSeconds('121').ok).toBe(false);
  });

  it('stops a profile when its client goes away, freeing the profiler at once', async () => {
    svc = await startProfiledService();
    const aborter = new AbortController();
    const pending = fetch(`${svc.url}/debug/pprof/profile?seconds=120`, {
      signal: aborter.signal,
    }).catch((error: unknown) => error);
    await profilerRunning(svc.url);
    aborter.abort();
    await pending;
    await eventually(
      async () =>
        (
          await metricLine(
            svc.url,
            'conveyor_pprof_requests_total{profile="profile",outcome="cancelled"',
          )
        )?.endsWith(' 1') === true,
      'the profile was counted as cancelled',
    );
    expect((await fetchBuffer(`${svc.url}/debug/pprof/heap`)).status).toBe(200);
    expect(svc.logs.lines).toContainEqual(
      expect.objectContaining({ msg: 'pprof: profile cancelled', why: 'client went away' }),
    );
  });

  it('stops a running profile on shutdown instead of holding the drain for its full length', async () => {
    svc = await startProfiledService({ drainTimeoutMs: 30_000 });
    const pending = fetchBuffer(`${svc.url}/debug/pprof/profile?seconds=120`);
    await profilerRunning(svc.url);
    const outcome = await svc.obs.shutdown('test shutdown');
    const res = await pending;
    expect(res.status).toBe(503);
    expect(res.body.toString()).toContain('the service is shutting down');
    expect(outcome.clean).toBe(true);
  });

  it('GET /debug/pprof/ lists each profile with a relative link and a line about it', async () => {
    svc = await startProfiledService();
    const res = await fetch(`${svc.url}/debug/pprof/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    for (const href of ['profile?seconds=30', 'heap', 'wall?seconds=30'])
      expect(html).toContain(`<a href="${href}">`);
    expect(html).toMatch(/CPU profile: CPU time of the service's JavaScript thread/);
    expect(html).not.toMatch(/href="\//); // relative only: they must work behind svc-proxy's prefix
    const bare = await fetch(`${svc.url}/debug/pprof`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('pprof/');
    const unknown = await fetch(`${svc.url}/debug/pprof/goroutine`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('the list is at /debug/pprof/');
  });
});
