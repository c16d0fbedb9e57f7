import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KubeObject } from './manifests';

/** A pod as the fake API server publishes it in EndpointSlices. */
export interface PodView {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ip: string;
  readonly ready: boolean;
  readonly ports: readonly { readonly name?: string; readonly containerPort: number }[];
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
}
interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

/**
 * May `serviceAccount` do `verb` on `group/resource` in `namespace`, by the rendered Roles,
 * ClusterRoles and their bindings? Only the rule fields the manifests use (apiGroups, resources,
 * verbs, `*`); a real API server also knows resourceNames, aggregation and non-resource URLs.
 */
export function rbacAllows(
  objects: readonly KubeObject[],
  serviceAccount: { namespace: string; name: string },
  request: { verb: string; group: string; resource: string; namespace?: string },
): boolean {
  const matches = (list: string[] | undefined, value: string) =>
    (list ?? []).some((x) => x === '*' || x === value);
  const ruleAllows = (rules: PolicyRule[] | undefined) =>
    (rules ?? []).some(
      (r) =>
        matches(r.apiGroups, request.group) &&
        matches(r.resources, request.resource) &&
        matches(r.verbs, request.verb),
    );
  const role = (kind: string, name: string, namespace?: string) =>
    objects.find(
      (o) =>
        o.kind === kind &&
        o.metadata.name === name &&
        (kind === 'ClusterRole' || o.metadata.namespace === namespace),
    );
  for (const binding of objects.filter(
    (o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding',
  )) {
    const subjects = (binding['subjects'] ?? []) as Subject[];
    const bound = subjects.some(
      (s) =>
        s.kind === 'ServiceAccount' &&
        s.name === serviceAccount.name &&
        (s.namespace ?? binding.metadata.namespace) === serviceAccount.namespace,
    );
    if (!bound) continue;
    // A RoleBinding grants only in its own namespace; a ClusterRoleBinding everywhere.
    if (binding.kind === 'RoleBinding' && binding.metadata.namespace !== request.namespace)
      continue;
    const ref = binding['roleRef'] as { kind: string; name: string };
    const target = role(ref.kind, ref.name, binding.metadata.namespace);
    if (target && ruleAllows(target['rules'] as PolicyRule[] | undefined)) return true;
  }
  return false;
}

function selectorMatches(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
) {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The EndpointSlice the EndpointSlice controller would keep for `service` over `pods`. */
export function endpointSliceFor(
  service: KubeObject,
  pods: readonly PodView[],
  resourceVersion: string,
): Record<string, unknown> {
  const spec = service['spec'] as {
    selector?: Record<string, string>;
    ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string }[];
  };
  const namespace = service.metadata.namespace ?? 'default';
  const selected = pods.filter(
    (p) => p.namespace === namespace && selectorMatches(spec.selector, p.labels),
  );
  const first = selected[0];
  const ports = (spec.ports ?? []).flatMap((p) => {
    const target = p.targetPort ?? p.port;
    const port =
      typeof target === 'number'
        ? target
        : first?.ports.find((c) => c.name === target)?.containerPort;
    return port === undefined ? [] : [{ name: p.name ?? '', port, protocol: p.protocol ?? 'TCP' }];
  });
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${service.metadata.name}-check`,
      namespace,
      resourceVersion,
      labels: { 'kubernetes.io/service-name': service.metadata.name },
    },
    addressType: 'IPv4',
    endpoints: selected.map((p) => ({
      addresses: [p.ip],
      conditions: { ready: p.ready, serving: p.ready, terminating: false },
      nodeName: 'kubelet-check',
      targetRef: { kind: 'Pod', name: p.name, namespace: p.namespace },
    })),
    ports,
  };
}

export interface FakeKubeApi {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly caCert: string;
  /** The token the kubelet would mount for `namespace/name`. */
  tokenFor(namespace: string, name: string): string;
  /** Pods changed (started, readiness): watchers get the new EndpointSlices. */
  podsChanged(): void;
  readonly denied: readonly string[];
  close(): Promise<void>;
}

/**
 * A minimal Kubernetes API server for svc-proxy's in-cluster discovery: TLS with its own CA,
 * bearer tokens per ServiceAccount checked against the rendered RBAC objects, and list + watch of
 * the rendered Services and of EndpointSlices derived from the pods this check runs. Enough for
 * client-node's informers; not a conformance-grade API server.
 */
export async function startFakeKubeApi(
  objects: readonly KubeObject[],
  pods: () => readonly PodView[],
  host = '127.0.0.1',
): Promise<FakeKubeApi> {
  const dir = mkdtempSync(path.join(tmpdir(), 'conveyor-kube-api-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=kubernetes',
        '-addext',
        `subjectAltName=IP:${host},DNS:kubernetes.default.svc`,
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'pipe' },
    );
  } catch (error) {
    throw new Error(
      `openssl could not make the fake API server's certificate: ${(error as Error).message}`,
    );
  }
  const key = readFileSync(path.join(dir, 'key.pem'), 'utf8');
  const cert = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  rmSync(dir, { recursive: true, force: true });

  const tokens = new Map<string, { namespace: string; name: string }>();
  const denied: string[] = [];
  let version = 1;
  const watchers = new Set<{ resource: string; namespace?: string; res: ServerResponse }>();
  const services = objects.filter((o) => o.kind === 'Service');

  const items = (resource: string, namespace?: string) => {
    const inNs = (o: { metadata: { namespace?: string } }) =>
      namespace === undefined || o.metadata.namespace === namespace;
    if (resource === 'services')
      return services
        .filter(inNs)
        .map((s) => ({ ...s, metadata: { ...s.metadata, resourceVersion: String(version) } }));
    return services.filter(inNs).map((s) => endpointSliceFor(s, pods(), String(version)));
  };

  const status = (res: ServerResponse, code: number, message: string) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code }));
  };

  const server = https.createServer({ key, cert }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://kubernetes');
    const m =
      /^\/api\/v1(?:\/namespaces\/([^/]+))?\/(services)$/.exec(url.pathname) ??
      /^\/apis\/discovery\.k8s\.io\/v1(?:\/namespaces\/([^/]+))?\/(endpointslices)$/.exec(
        url.pathname,
      );
    const token = (req.headers.authorization ?? '').replace(/^Bearer /i, '');
    const account = tokens.get(token);
    if (!account) return status(res, 401, 'Unauthorized');
    if (req.method !== 'GET' || !m)
      return status(res, 404, `${req.method} ${url.pathname}: not served by the fake API server`);
    const [, namespace, resource = ''] = m;
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const verb = watch ? 'watch' : 'list';
    const group = resource === 'services' ? '' : 'discovery.k8s.io';
    if (!rbacAllows(objects, account, { verb, group, resource, namespace })) {
      const what = `system:serviceaccount:${account.namespace}:${account.name} cannot ${verb} ${resource} in ${namespace ? `namespace ${namespace}` : 'the cluster scope'}`;
      denied.push(what);
      return status(res, 403, `${resource} is forbidden: User "${what}`);
    }
    if (!watch) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: resource === 'services' ? 'ServiceList' : 'EndpointSliceList',
          apiVersion: resource === 'services' ? 'v1' : 'discovery.k8s.io/v1',
          metadata: { resourceVersion: String(version) },
          items: items(resource, namespace),
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const watcher = { resource, ...(namespace ? { namespace } : {}), res };
    watchers.add(watcher);
    // Changes between the informer's list and this watch would be lost otherwise.
    if (url.searchParams.get('resourceVersion') !== String(version))
      for (const object of items(resource, namespace))
        res.write(`${JSON.stringify({ type: 'MODIFIED', object })}\n`);
    res.on('close', () => watchers.delete(watcher));
  });
  const sockets = new Set<Socket>();
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://${host}:${port}`,
    host,
    port,
    caCert: cert,
    denied,
    tokenFor(namespace, name) {
      const token = randomBytes(24).toString('base64url');
      tokens.set(token, { namespace, name });
      return token;
    },
    podsChanged() {
      version += 1;
      for (const w of watchers) {
        if (w.resource !== 'endpointslices') continue;
        for (const object of items('endpointslices', w.namespace))
          w.res.write(`${JSON.stringify({ type: 'MODIFIED', object })}\n`);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const w of watchers) w.res.end();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
