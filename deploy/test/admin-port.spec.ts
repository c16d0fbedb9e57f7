/* eslint-disable @typescript-eslint/no-explicit-any -- tests reach deep into manifest trees */
import type { KubeObject } from '../src/kustomize';
import { renderOverlay } from '../src/overlays';
import { DEPLOY_DIR, OVERLAYS, WORKSPACE_ROOT } from '../src/paths';
import {
  ADMIN_PORT,
  externalSecretsFrom,
  secretTemplates,
  validateRendered,
  workloadsOf,
} from '../src/validate';

const byName = (objects: KubeObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} missing`);
  return found as KubeObject & { spec: any };
};
const APPS = [
  'orchestrator',
  'classifier-api',
  'classifier-worker',
  'checkers',
  'checkers-engine',
  'svc-proxy',
];

describe.each(Object.keys(OVERLAYS))('overlay %s: the admin port', (overlay) => {
  const objects = renderOverlay(overlay);
  const config = byName(objects, 'ConfigMap', 'conveyor-config')['data'] as Record<string, string>;

  it('every app pod serves /metrics and /debug/* on ADMIN_PORT, declared as its "admin" port', () => {
    expect(config['ADMIN_PORT']).toBe(String(ADMIN_PORT));
    for (const app of APPS) {
      const w = workloadsOf(objects).find((x) => x.object.metadata.name === app);
      const c = w?.podSpec.containers[0];
      expect(c?.ports).toEqual(
        expect.arrayContaining([
          { name: 'http', containerPort: 8080 },
          { name: 'admin', containerPort: ADMIN_PORT },
        ]),
      );
      expect(c?.envFrom).toEqual(
        expect.arrayContaining([{ configMapRef: { name: 'conveyor-config' } }]),
      );
      // Prometheus scrapes the admin port; the kubelet still probes the public one.
      expect(w?.podAnnotations['prometheus.io/port']).toBe(String(ADMIN_PORT));
      expect(c?.readinessProbe?.httpGet?.port).toBe('http');
      expect(c?.livenessProbe?.httpGet?.port).toBe('http');
    }
  });

  it('every app Service exposes the admin port under the name its svc-proxy annotation gives', () => {
    for (const app of APPS) {
      const svc = byName(objects, 'Service', app);
      expect(svc.spec.ports).toEqual(
        expect.arrayContaining([{ name: 'admin', port: ADMIN_PORT, targetPort: 'admin' }]),
      );
    }
  });

  it('lets only svc-proxy and Prometheus reach the admin port', () => {
    const policy = byName(objects, 'NetworkPolicy', 'allow-app-admin');
    expect(policy.spec.ingress).toEqual([
      {
        from: [
          { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'svc-proxy' } } },
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
        ],
        ports: [{ protocol: 'TCP', port: ADMIN_PORT }],
      },
    ]);
    const http = byName(objects, 'NetworkPolicy', 'allow-app-http');
    expect(JSON.stringify(http.spec.ingress)).not.toContain(String(ADMIN_PORT));
  });
});

describe('the validators catch a misplaced admin port', () => {
  const external = externalSecretsFrom(secretTemplates(DEPLOY_DIR));
  const problemsAfter = (mutate: (objects: KubeObject[]) => void) => {
    const objects = structuredClone(renderOverlay('prod'));
    mutate(objects);
    return validateRendered(objects, { workspaceRoot: WORKSPACE_ROOT, external }).join('\n');
  };
  const container = (objects: KubeObject[], name: string) =>
    byName(objects, 'Deployment', name).spec.template.spec.containers[0];
  const env = (o: KubeObject[]) =>
    byName(o, 'ConfigMap', 'conveyor-config')['data'] as Record<string, string>;

  it.each<[string, (objects: KubeObject[]) => void, RegExp]>([
    [
      'an annotation naming a port the Service does not have',
      (o) =>
        (byName(o, 'Service', 'orchestrator').metadata.annotations = {
          'k8s-svc-proxy.local/endpoint-port': 'debug',
        }),
      /Service\/orchestrator: k8s-svc-proxy.local\/endpoint-port: debug names no port of the Service/,
    ],
    [
      'an annotation naming the public port',
      (o) =>
        (byName(o, 'Service', 'checkers').metadata.annotations = {
          'k8s-svc-proxy.local/endpoint-port': 'http',
        }),
      /Service\/checkers: k8s-svc-proxy.local\/endpoint-port reaches pod port 8080, but container checkers serves \/debug\/\* on ADMIN_PORT "9090"/,
    ],
    [
      'an annotation with a port number the pods do not serve debug pages on',
      (o) =>
        (byName(o, 'Service', 'svc-proxy').metadata.annotations = {
          'k8s-svc-proxy.local/endpoint-port': '8080',
        }),
      /Service\/svc-proxy: k8s-svc-proxy.local\/endpoint-port reaches pod port 8080/,
    ],
    [
      'a Service admin port whose target the pods do not declare',
      (o) => (byName(o, 'Service', 'classifier-worker').spec.ports[1].targetPort = 'debug'),
      /targetPort "debug", which container classifier-worker does not declare/,
    ],
    [
      'ADMIN_PORT that is not the declared admin containerPort',
      (o) => (container(o, 'orchestrator').ports[1].containerPort = 9091),
      /Deployment\/orchestrator container orchestrator: its "admin" containerPort is 9091 but ADMIN_PORT is "9090": they must match/,
    ],
    [
      'no ADMIN_PORT at all',
      (o) => delete env(o)['ADMIN_PORT'],
      /container checkers-engine: ADMIN_PORT is undefined, must be "9090" \(without it \/metrics and \/debug\/\* are served on the public port\)/,
    ],
    [
      'no admin containerPort',
      (o) => container(o, 'classifier-api').ports.splice(1, 1),
      /container classifier-api: must declare containerPort 9090 named "admin"/,
    ],
    [
      'an ADMIN_HOST only the pod itself can reach',
      (o) => container(o, 'checkers').env.push({ name: 'ADMIN_HOST', value: '127.0.0.1' }),
      /container checkers: ADMIN_HOST is "127.0.0.1"; unset it/,
    ],
    [
      'Prometheus scraping the public port',
      (o) =>
        (byName(o, 'Deployment', 'checkers').spec.template.metadata.annotations[
          'prometheus.io/port'
        ] = '8080'),
      /Deployment\/checkers: prometheus.io\/port is "8080", but \/metrics is on ADMIN_PORT "9090"/,
    ],
    [
      'an Ingress routing to the admin port',
      (o) =>
        (byName(o, 'Ingress', 'conveyor').spec.rules[1].http.paths[0].backend.service.port = {
          name: 'admin',
        }),
      /Ingress\/conveyor: routes to Service\/classifier-api port "admin", the admin port, which must stay inside the cluster/,
    ],
  ])('%s', (_what, mutate, expected) => {
    expect(problemsAfter(mutate)).toMatch(expected);
  });

  it('reports nothing for the untouched overlay', () => {
    expect(problemsAfter(() => undefined)).toBe('');
  });
});
