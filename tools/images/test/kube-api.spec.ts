import {
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  makeInformer,
  type V1EndpointSlice,
} from '@kubernetes/client-node';
import { rbacAllows, startFakeKubeApi, type FakeKubeApi, type PodView } from '../src/kube-api';
import { renderOverlay, type KubeObject } from '../src/manifests';

// The fake API server svc-proxy's in-cluster discovery talks to, exercised with the same client
// (client-node) and the dev overlay's own Services and RBAC.
describe('fake Kubernetes API server', () => {
  let objects: KubeObject[];
  let api: FakeKubeApi;
  const pods: PodView[] = [
    {
      name: 'orchestrator-0',
      namespace: 'conveyor-dev',
      labels: { 'app.kubernetes.io/name': 'orchestrator' },
      ip: '127.0.9.5',
      ready: true,
      ports: [{ name: 'http', containerPort: 8080 }],
    },
  ];
  const client = (token: string) => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        { name: 'c', server: api.url, caData: Buffer.from(api.caCert).toString('base64') },
      ],
      users: [{ name: 'u', token }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc;
  };

  beforeAll(async () => {
    objects = renderOverlay('dev');
    api = await startFakeKubeApi(objects, () => pods);
  }, 60_000);
  afterAll(() => api.close());

  it("lists the overlay's annotated Services and EndpointSlices of the pods to svc-proxy's account, over TLS", async () => {
    const kc = client(api.tokenFor('conveyor-dev', 'svc-proxy'));
    const services = await kc
      .makeApiClient(CoreV1Api)
      .listNamespacedService({ namespace: 'conveyor-dev' });
    const orchestrator = services.items.find((s) => s.metadata?.name === 'orchestrator');
    expect(orchestrator?.metadata?.annotations?.['k8s-svc-proxy.local/endpoint-port']).toBe(
      'admin',
    );
    const slices = await kc
      .makeApiClient(DiscoveryV1Api)
      .listNamespacedEndpointSlice({ namespace: 'conveyor-dev' });
    const slice = slices.items.find(
      (s) => s.metadata?.labels?.['kubernetes.io/service-name'] === 'orchestrator',
    );
    expect(slice?.endpoints).toEqual([
      expect.objectContaining({
        addresses: ['127.0.9.5'],
        conditions: expect.objectContaining({ ready: true }),
        targetRef: expect.objectContaining({ kind: 'Pod', name: 'orchestrator-0' }),
      }),
    ]);
    // The Service's targetPort "http" resolved through the pod's named container port.
    expect(slice?.ports).toEqual([expect.objectContaining({ name: 'http', port: 8080 })]);
  });

  it('refuses what the rendered RBAC does not grant, and requests without a token', async () => {
    const other = client(api.tokenFor('conveyor-dev', 'default'));
    await expect(
      other.makeApiClient(CoreV1Api).listNamespacedService({ namespace: 'conveyor-dev' }),
    ).rejects.toMatchObject({ code: 403 });
    const proxy = client(api.tokenFor('conveyor-dev', 'svc-proxy'));
    // A Role grants in its own namespace only.
    await expect(
      proxy.makeApiClient(CoreV1Api).listNamespacedService({ namespace: 'kube-system' }),
    ).rejects.toMatchObject({ code: 403 });
    await expect(
      client('not-a-token')
        .makeApiClient(CoreV1Api)
        .listNamespacedService({ namespace: 'conveyor-dev' }),
    ).rejects.toMatchObject({ code: 401 });
    expect(api.denied.length).toBeGreaterThanOrEqual(2);
  });

  it('tells a watching informer when a pod stops being ready', async () => {
    const kc = client(api.tokenFor('conveyor-dev', 'svc-proxy'));
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const informer = makeInformer<V1EndpointSlice>(
      kc,
      '/apis/discovery.k8s.io/v1/namespaces/conveyor-dev/endpointslices',
      () => discovery.listNamespacedEndpointSlice({ namespace: 'conveyor-dev' }),
    );
    const updated = new Promise<V1EndpointSlice>((resolve) =>
      informer.on('update', (slice) => {
        if (slice.metadata?.labels?.['kubernetes.io/service-name'] === 'orchestrator')
          resolve(slice);
      }),
    );
    // start() resolves once the list is in and the watch's response headers arrived; the fake
    // server registers a watcher before it sends those, so the watch is open from here on. A
    // change announced while it were still opening would not be lost either: a watch from an
    // older resourceVersion is sent the current slices first.
    await informer.start();
    try {
      (pods[0] as { ready: boolean }).ready = false;
      api.podsChanged();
      const slice = await updated;
      expect(slice.endpoints?.[0]?.conditions?.ready).toBe(false);
    } finally {
      await informer.stop();
    }
  });

  it('evaluates Role and ClusterRole bindings like the API server for the rules the overlays use', () => {
    const sa = { namespace: 'conveyor-dev', name: 'svc-proxy' };
    const ask = (verb: string, group: string, resource: string, namespace = 'conveyor-dev') =>
      rbacAllows(objects, sa, { verb, group, resource, namespace });
    expect(ask('watch', 'discovery.k8s.io', 'endpointslices')).toBe(true);
    expect(ask('list', '', 'services')).toBe(true);
    expect(ask('list', '', 'pods')).toBe(false);
    expect(ask('list', '', 'secrets')).toBe(false);
    expect(ask('delete', '', 'services')).toBe(false);
  });
});
