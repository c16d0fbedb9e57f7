import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * A local stand-in for the Kubernetes API server, serving real-shaped list and watch responses
 * for Services and discovery.k8s.io/v1 EndpointSlices: resourceVersions, ADDED/MODIFIED/DELETED
 * watch events, 410 Gone (as a watch ERROR event or as an HTTP status) after compaction, and
 * injectable failures. The real client-node informers run against it.
 */
export type Resource = 'services' | 'endpointslices';

interface KubeObject {
  metadata: { name: string; namespace: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface Event {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly resource: Resource;
  readonly object: KubeObject;
}

interface Watcher {
  readonly resource: Resource;
  readonly namespace: string | undefined;
  readonly res: ServerResponse;
}

const META: Record<Resource, { kind: string; apiVersion: string; listKind: string }> = {
  services: { kind: 'Service', apiVersion: 'v1', listKind: 'ServiceList' },
  endpointslices: {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    listKind: 'EndpointSliceList',
  },
};

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly watch: boolean;
  readonly resourceVersion: string | null;
  readonly status: number;
  /** A watch answered with 410 Gone (as a status or as an ERROR event). */
  readonly gone: boolean;
}

export class FakeKubeApi {
  private server?: Server;
  private rv = 100;
  /** Events older than this were compacted: watches from before get 410 Gone. */
  private compactedBelow = 0;
  private readonly objects: Record<Resource, Map<string, KubeObject>> = {
    services: new Map(),
    endpointslices: new Map(),
  };
  private readonly events: Event[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly failures: { resource: Resource; watch: boolean; status: number }[] = [];
  readonly requests: RequestRecord[] = [];
  /** How 410 is reported to watches that start too far back. */
  goneMode: 'event' | 'status' = 'event';

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    const { port } = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'tester', token: 'fake-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'tester' }],
      currentContext: 'fake',
    });
    return kc;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }

  apply(resource: Resource, object: KubeObject): void {
    const key = `${object.metadata.namespace}/${object.metadata.name}`;
    const type = this.objects[resource].has(key) ? 'MODIFIED' : 'ADDED';
    this.record(resource, type, object);
  }

  remove(resource: Resource, namespace: string, name: string): void {
    const existing = this.objects[resource].get(`${namespace}/${name}`);
    if (existing) this.record(resource, 'DELETED', existing);
  }

  /** Forgets history: any watch resuming from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.compactedBelow = this.rv + 1;
    this.events.length = 0;
  }

  /** Ends every open watch stream, as the API server does at its watch timeout. */
  closeWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  /** The next list (or watch) of `resource` answers with this HTTP status. */
  failNext(resource: Resource, status: number, watch = false): void {
    this.failures.push({ resource, watch, status });
  }

  openWatches(resource?: Resource): number {
    return [...this.watchers].filter((w) => !resource || w.resource === resource).length;
  }

  private record(resource: Resource, type: Event['type'], object: KubeObject): void {
    this.rv += 1;
    const stored: KubeObject = {
      ...structuredClone(object),
      metadata: { ...structuredClone(object.metadata), resourceVersion: String(this.rv) },
    };
    const key = `${stored.metadata.namespace}/${stored.metadata.name}`;
    if (type === 'DELETED') this.objects[resource].delete(key);
    else this.objects[resource].set(key, stored);
    const event: Event = { rv: this.rv, type, resource, object: stored };
    this.events.push(event);
    for (const w of this.watchers) this.send(w, event);
  }

  private send(w: Watcher, event: Event): void {
    if (w.resource !== event.resource) return;
    if (w.namespace && w.namespace !== event.object.metadata.namespace) return;
    const { kind, apiVersion } = META[event.resource];
    w.res.write(
      `${JSON.stringify({ type: event.type, object: { kind, apiVersion, ...event.object } })}\n`,
    );
  }

  private parse(pathname: string): { resource: Resource; namespace?: string } | undefined {
    let m = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?services$/.exec(pathname);
    if (m) return { resource: 'services', ...(m[1] ? { namespace: m[1] } : {}) };
    m = /^\/apis\/discovery\.k8s\.io\/v1\/(?:namespaces\/([^/]+)\/)?endpointslices$/.exec(pathname);
    if (m) return { resource: 'endpointslices', ...(m[1] ? { namespace: m[1] } : {}) };
    return undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const watch = url.searchParams.get('watch') === 'true';
    const resourceVersion = url.searchParams.get('resourceVersion');
    const log = (status: number, gone = false) =>
      this.requests.push({
        method: req.method ?? 'GET',
        path: url.pathname,
        watch,
        resourceVersion,
        status,
        gone,
      });
    const status = (code: number, reason: string, message: string) => {
      log(code);
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message,
          reason,
          code,
        }),
      );
    };
    if (req.headers.authorization !== 'Bearer fake-token')
      return status(401, 'Unauthorized', 'Unauthorized');
    const target = this.parse(url.pathname);
    if (!target || req.method !== 'GET')
      return status(404, 'NotFound', `the server could not find ${url.pathname}`);

    const failure = this.failures.findIndex(
      (f) => f.resource === target.resource && f.watch === watch,
    );
    if (failure !== -1) {
      const [f] = this.failures.splice(failure, 1);
      return status(f?.status ?? 500, 'InternalError', 'injected failure');
    }

    if (!watch) {
      log(200);
      const items = [...this.objects[target.resource].values()].filter(
        (o) => !target.namespace || o.metadata.namespace === target.namespace,
      );
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: META[target.resource].listKind,
          apiVersion: META[target.resource].apiVersion,
          metadata: { resourceVersion: String(this.rv) },
          items,
        }),
      );
      return;
    }

    const from = Number(resourceVersion ?? '0');
    if (from > 0 && from < this.compactedBelow - 1) {
      if (this.goneMode === 'status') {
        this.requests.push({
          method: 'GET',
          path: url.pathname,
          watch,
          resourceVersion,
          status: 410,
          gone: true,
        });
        res.writeHead(410, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: `too old resource version: ${from}`,
            reason: 'Expired',
            code: 410,
          }),
        );
        return;
      }
      // The API server's usual way: a 200 watch whose only event is an ERROR Status with code 410.
      log(200, true);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        `${JSON.stringify({
          type: 'ERROR',
          object: {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: `too old resource version: ${from}`,
            reason: 'Expired',
            code: 410,
          },
        })}\n`,
      );
      return;
    }
    log(200);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const watcher: Watcher = { resource: target.resource, namespace: target.namespace, res };
    this.watchers.add(watcher);
    for (const event of this.events) if (event.rv > from) this.send(watcher, event);
    req.on('close', () => this.watchers.delete(watcher));
  }
}

// Builders for real-shaped objects.

export function service(
  namespace: string,
  name: string,
  opts: {
    annotation?: string;
    ports?: { name: string; port: number; targetPort?: number | string }[];
  } = {},
): KubeObject {
  return {
    metadata: {
      name,
      namespace,
      uid: `${namespace}-${name}-uid`,
      ...(opts.annotation !== undefined
        ? { annotations: { 'k8s-svc-proxy.local/endpoint-port': opts.annotation } }
        : {}),
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.96.0.10',
      ports: (opts.ports ?? [{ name: 'http', port: 8080 }]).map((p) => ({
        protocol: 'TCP',
        targetPort: p.port,
        ...p,
      })),
    },
  };
}

export interface EndpointSpec {
  readonly pod: string;
  readonly ip: string;
  readonly node?: string;
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
}

export function endpointSlice(
  namespace: string,
  serviceName: string,
  endpoints: readonly EndpointSpec[],
  ports: { name: string; port: number }[] = [{ name: 'http', port: 8080 }],
  sliceName = `${serviceName}-abcde`,
): KubeObject {
  return {
    metadata: { name: sliceName, namespace, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: {
        ...(e.ready !== undefined ? { ready: e.ready } : { ready: true }),
        ...(e.serving !== undefined ? { serving: e.serving } : {}),
        ...(e.terminating !== undefined ? { terminating: e.terminating } : {}),
      },
      ...(e.node ? { nodeName: e.node } : {}),
      targetRef: { kind: 'Pod', namespace, name: e.pod, uid: `${e.pod}-uid` },
    })),
    ports: ports.map((p) => ({ protocol: 'TCP', ...p })),
  };
}
