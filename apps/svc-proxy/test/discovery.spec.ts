import { createLogger } from '@conveyor/observability';
import { Directory } from '../src/discovery/directory';
import { endpointSlice, FakeKubeApi, service } from './support/fake-kube-api';
import type { LogLine } from './support/harness';
import { duplicateKeys } from './support/json-keys';

jest.setTimeout(30_000);

/** The real client-node informers, driven by a fake API server's list and watch streams. */
describe('discovery with client-node informers', () => {
  let kube: FakeKubeApi;
  let directory: Directory;
  let logs: LogLine[];
  let rawLogs: string[];

  const waitFor = async (condition: () => boolean, what: string, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; status ${JSON.stringify(directory.status())}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const pods = () =>
    directory.list().map((t) => `${t.namespace}/${t.service}/${t.pod}@${t.ip}:${t.port}`);

  async function startDirectory(namespaces: string[] = [], kubeConfig = kube.kubeConfig()) {
    logs = [];
    rawLogs = [];
    const logger = createLogger('svc-proxy-test', {
      level: 'debug',
      destination: {
        write: (line: string) => {
          rawLogs.push(line);
          logs.push(JSON.parse(line) as LogLine);
        },
      },
    });
    directory = new Directory(
      kubeConfig,
      { namespaces, backoff: { initialMs: 30, maxMs: 200 } },
      logger,
    );
    await directory.start();
  }

  beforeEach(async () => {
    kube = new FakeKubeApi();
    await kube.start();
    kube.apply('services', service('shop', 'cart', { annotation: '8080' }));
    kube.apply(
      'endpointslices',
      endpointSlice('shop', 'cart', [{ pod: 'cart-0', ip: '10.1.0.1', node: 'n1' }]),
    );
  });

  afterEach(async () => {
    await directory?.stop();
    await kube.stop();
  });

  it('lists, then follows ADDED, MODIFIED and DELETED watch events', async () => {
    await startDirectory();
    await waitFor(() => directory.synced && pods().length === 1, 'initial list');
    expect(pods()).toEqual(['shop/cart/cart-0@10.1.0.1:8080']);
    expect(
      kube.requests
        .filter((r) => !r.watch)
        .map((r) => r.path)
        .sort(),
    ).toEqual(['/api/v1/services', '/apis/discovery.k8s.io/v1/endpointslices']);

    kube.apply(
      'services',
      service('ops', 'agent', { annotation: 'metrics', ports: [{ name: 'metrics', port: 9100 }] }),
    );
    kube.apply(
      'endpointslices',
      endpointSlice(
        'ops',
        'agent',
        [{ pod: 'agent-0', ip: '10.1.0.9' }],
        [{ name: 'metrics', port: 9100 }],
      ),
    );
    await waitFor(() => pods().length === 2, 'ADDED');
    expect(pods()).toContain('ops/agent/agent-0@10.1.0.9:9100');

    kube.apply(
      'endpointslices',
      endpointSlice('shop', 'cart', [{ pod: 'cart-0', ip: '10.1.0.1', ready: false }]),
    );
    await waitFor(() => pods().length === 1, 'MODIFIED to not ready');

    kube.remove('services', 'ops', 'agent');
    await waitFor(() => pods().length === 0, 'DELETED service');

    kube.apply('services', service('shop', 'cart'));
    kube.apply(
      'endpointslices',
      endpointSlice('shop', 'cart', [{ pod: 'cart-0', ip: '10.1.0.1' }]),
    );
    // A marker applied after them: once it is listed, both watches have delivered the events
    // before it (each watch stream is ordered), so the cart's absence is a result, not a race.
    // (Sleeping and asserting could only pass: the list was already empty before.)
    kube.apply('services', service('ops', 'marker', { annotation: '8080' }));
    kube.apply(
      'endpointslices',
      endpointSlice('ops', 'marker', [{ pod: 'marker-0', ip: '10.1.0.7' }]),
    );
    await waitFor(() => pods().length > 0, 'the marker');
    expect(pods()).toEqual(['ops/marker/marker-0@10.1.0.7:8080']); // cart: annotation removed
  });

  it('logs an annotation it cannot use, naming the service without a second `service` key', async () => {
    await startDirectory();
    await waitFor(() => directory.synced && pods().length === 1, 'initial list');
    kube.apply('services', service('ops', 'agent', { annotation: 'not a port' }));
    const problem = () => rawLogs.filter((l) => l.includes('annotated service cannot be proxied'));
    await waitFor(() => problem().length > 0, 'the problem logged');
    const raw = problem()[0] ?? '';
    expect(duplicateKeys(raw)).toEqual([]);
    expect(JSON.parse(raw)).toMatchObject({
      service: 'svc-proxy-test',
      target: { namespace: 'ops', service: 'agent' },
      problem: expect.stringContaining('neither a port number nor a port name'),
    });
    expect(directory.currentProblems()).toEqual([
      { namespace: 'ops', service: 'agent', problem: expect.any(String) },
    ]);
  });

  it('re-watches from its resourceVersion when the server closes a watch', async () => {
    await startDirectory();
    await waitFor(() => kube.openWatches() === 2, 'watches open');
    const lists = kube.requests.filter((r) => !r.watch).length;
    kube.closeWatches();
    await waitFor(() => kube.openWatches() === 2, 'watches reopened');
    kube.apply(
      'endpointslices',
      endpointSlice('shop', 'cart', [
        { pod: 'cart-0', ip: '10.1.0.1' },
        { pod: 'cart-1', ip: '10.1.0.2' },
      ]),
    );
    await waitFor(() => pods().length === 2, 'event after re-watch');
    expect(kube.requests.filter((r) => !r.watch).length).toBe(lists);
    const rewatch = kube.requests.filter((r) => r.watch).at(-1);
    expect(Number(rewatch?.resourceVersion)).toBeGreaterThan(100);
  });

  it.each(['event', 'status'] as const)('relists after 410 Gone (reported as %s)', async (mode) => {
    kube.goneMode = mode;
    await startDirectory();
    await waitFor(() => kube.openWatches() === 2, 'watches open');
    // Changes happen while the proxy is disconnected, then history is compacted.
    kube.closeWatches();
    kube.apply(
      'endpointslices',
      endpointSlice('shop', 'cart', [{ pod: 'cart-9', ip: '10.1.0.99' }]),
    );
    kube.compact();
    await waitFor(
      () =>
        pods().includes('shop/cart/cart-9@10.1.0.99:8080') &&
        !pods().some((p) => p.includes('cart-0')),
      'relist',
    );
    expect(kube.requests.filter((r) => r.watch && r.gone).length).toBeGreaterThan(0);
    // Relisting after 410 is client-node's own job: no error reached our restart logic.
    expect(logs.filter((l) => l.msg === 'informer stopped; restarting')).toEqual([]);
    expect(
      kube.requests.filter((r) => !r.watch && r.path.endsWith('endpointslices')).length,
    ).toBeGreaterThanOrEqual(2);
  });

  it('restarts with backoff after errors that stop client-node informers', async () => {
    kube.failNext('services', 500);
    kube.failNext('services', 503);
    await startDirectory();
    await waitFor(() => directory.synced, 'sync after two failed lists');
    const restarts = logs.filter(
      (l) => l.msg === 'informer stopped; restarting' && l['informer'] === 'services',
    );
    expect(restarts).toHaveLength(2);
    expect(restarts[0]?.['failures']).toBe(1);
    expect(restarts[1]?.['failures']).toBe(2);

    // A watch that fails with a non-410 error stops the informer too; it must come back.
    await waitFor(() => kube.openWatches('endpointslices') === 1, 'endpointslice watch');
    kube.failNext('endpointslices', 500, true);
    kube.closeWatches();
    await waitFor(
      () =>
        logs.some(
          (l) => l.msg === 'informer stopped; restarting' && l['informer'] === 'endpointslices',
        ),
      'watch failure',
    );
    kube.apply(
      'endpointslices',
      endpointSlice('shop', 'cart', [
        { pod: 'cart-0', ip: '10.1.0.1' },
        { pod: 'cart-2', ip: '10.1.0.3' },
      ]),
    );
    await waitFor(() => pods().length === 2, 'events after restart');
    expect(directory.status()['endpointslices']).toMatchObject({ phase: 'synced' });
  });

  it('keeps retrying while the API server is unreachable, then syncs', async () => {
    const port = Number(new URL(kube.url).port);
    const kubeConfig = kube.kubeConfig();
    await kube.stop();
    await startDirectory([], kubeConfig);
    await waitFor(
      () => logs.filter((l) => l.msg === 'informer stopped; restarting').length >= 4,
      'failures logged',
    );
    expect(directory.synced).toBe(false);
    expect(directory.status()['services']).toMatchObject({
      phase: 'backing-off',
      error: expect.stringContaining('ECONNREFUSED'),
    });
    kube = new FakeKubeApi();
    await kube.start(port);
    kube.apply('services', service('shop', 'cart', { annotation: '8080' }));
    kube.apply(
      'endpointslices',
      endpointSlice('shop', 'cart', [{ pod: 'cart-0', ip: '10.1.0.1' }]),
    );
    await waitFor(
      () => directory.synced && pods().length === 1,
      'sync once the API server is back',
    );
  });

  it('is synced but not healthy while an informer backs off after losing the API server', async () => {
    await startDirectory();
    await waitFor(() => directory.synced && pods().length === 1, 'initial list');
    expect(directory.healthy).toBe(true);
    const port = Number(new URL(kube.url).port);
    await kube.stop();
    await waitFor(
      () => Object.values(directory.status()).some((s) => s.phase === 'backing-off'),
      'an informer backing off',
    );
    // The cache is still served (synced), but /readyz must say it may be stale.
    expect(directory.synced).toBe(true);
    expect(directory.healthy).toBe(false);
    kube = new FakeKubeApi();
    await kube.start(port);
    kube.apply('services', service('shop', 'cart', { annotation: '8080' }));
    kube.apply(
      'endpointslices',
      endpointSlice('shop', 'cart', [{ pod: 'cart-0', ip: '10.1.0.1', node: 'n1' }]),
    );
    await waitFor(() => directory.healthy, 'healthy again once the API server is back');
  });

  it('watches only the configured namespaces', async () => {
    kube.apply('services', service('ops', 'agent', { annotation: '9100' }));
    kube.apply(
      'endpointslices',
      endpointSlice('ops', 'agent', [{ pod: 'agent-0', ip: '10.1.0.9' }]),
    );
    await startDirectory(['ops']);
    await waitFor(() => directory.synced && pods().length === 1, 'namespaced list');
    expect(pods()).toEqual(['ops/agent/agent-0@10.1.0.9:9100']);
    expect(new Set(kube.requests.map((r) => r.path))).toEqual(
      new Set([
        '/api/v1/namespaces/ops/services',
        '/apis/discovery.k8s.io/v1/namespaces/ops/endpointslices',
      ]),
    );
  });
});
