/* eslint-disable @typescript-eslint/no-explicit-any -- tests reach deep into manifest trees */
import { readFileSync } from 'node:fs';
import type { KubeObject } from '../src/kustomize';
import { parseAllDocuments } from 'yaml';
import { renderOverlay, validateOverlay } from '../src/overlays';
import { DEPLOY_DIR, OVERLAYS, renderedFile, WORKSPACE_ROOT } from '../src/paths';
import {
  ENDPOINT_PORT_ANNOTATION,
  externalSecretsFrom,
  secretTemplates,
  validateRendered,
  workloadsOf,
} from '../src/validate';

const overlays = Object.keys(OVERLAYS);
const byName = (objects: KubeObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} missing`);
  return found as KubeObject & { spec: any };
};

describe.each(overlays)('overlay %s', (overlay) => {
  const objects = renderOverlay(overlay);

  it('validates: Kubernetes schemas, references, Conveyor conventions', () => {
    expect(validateOverlay(overlay)).toEqual([]);
  });

  it('matches the committed deploy/rendered file (run `npx nx run deploy:render` after changing an overlay)', () => {
    // Compared as objects: the file is Prettier-formatted by the CLI (Prettier cannot run under Jest).
    const committed = parseAllDocuments(readFileSync(renderedFile(overlay), 'utf8')).map(
      (d) => d.toJS() as unknown,
    );
    expect(committed).toEqual(JSON.parse(JSON.stringify(objects)));
  });

  it('deploys every service, the broker and the database into one namespace', () => {
    const names = workloadsOf(objects)
      .map((w) => w.object.metadata.name)
      .sort();
    expect(names).toEqual([
      'checkers',
      'checkers-engine',
      'classifier-api',
      'classifier-worker',
      'orchestrator',
      'postgres',
      'rabbitmq',
      'svc-proxy',
    ]);
    const namespaces = new Set(
      objects.filter((o) => o.kind !== 'Namespace').map((o) => o.metadata.namespace),
    );
    expect(namespaces.size).toBe(1);
  });

  it("annotates every app Service for svc-proxy with the pods' admin port", () => {
    for (const name of [
      'orchestrator',
      'classifier-api',
      'classifier-worker',
      'checkers',
      'checkers-engine',
      'svc-proxy',
    ]) {
      expect(
        byName(objects, 'Service', name).metadata.annotations?.[ENDPOINT_PORT_ANNOTATION],
      ).toBe('admin');
    }
  });

  it('pins every image to a version, none to latest', () => {
    const images = workloadsOf(objects).flatMap((w) =>
      w.podSpec.containers.map((c) => c.image as string),
    );
    for (const image of images) expect(image).toMatch(/:[0-9][\w.-]*$|@sha256:/);
  });

  it('keeps /metrics, /debug, /healthz and /readyz of the public apps away from the Internet', () => {
    const publicRules = byName(objects, 'Ingress', 'conveyor').spec.rules as {
      host: string;
      http: { paths: { backend: { service: { name: string } } }[] };
    }[];
    const internal = byName(objects, 'Ingress', 'conveyor-internal-paths');
    expect(
      internal.metadata.annotations?.['nginx.ingress.kubernetes.io/denylist-source-range'],
    ).toBe('0.0.0.0/0,::/0');
    for (const rule of publicRules.filter(
      (r) => r.http.paths[0]?.backend.service.name !== 'svc-proxy',
    )) {
      const blocked = (
        internal.spec.rules as { host: string; http: { paths: { path: string }[] } }[]
      ).find((r) => r.host === rule.host);
      expect(blocked?.http.paths.map((p) => p.path).sort()).toEqual([
        '/debug',
        '/healthz',
        '/metrics',
        '/readyz',
      ]);
    }
  });

  it('gives svc-proxy read access to Services and EndpointSlices only', () => {
    const role = byName(objects, 'Role', 'svc-proxy-discovery');
    expect(role['rules']).toEqual([
      { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch'] },
      {
        apiGroups: ['discovery.k8s.io'],
        resources: ['endpointslices'],
        verbs: ['get', 'list', 'watch'],
      },
    ]);
    expect(objects.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toBe(
      false,
    );
  });
});

describe('environment differences', () => {
  it('dev ships the template Secrets; prod and gpu never contain a Secret', () => {
    expect(
      renderOverlay('dev')
        .filter((o) => o.kind === 'Secret')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual([
      'conveyor-database-urls',
      'conveyor-postgres',
      'conveyor-rabbitmq',
      'svc-proxy-oauth',
    ]);
    expect(renderOverlay('prod').some((o) => o.kind === 'Secret')).toBe(false);
    expect(renderOverlay('gpu').some((o) => o.kind === 'Secret')).toBe(false);
  });

  it('gpu runs only the classifier workers on GPUs, with the CUDA image', () => {
    const gpu = renderOverlay('gpu');
    const worker = byName(gpu, 'Deployment', 'classifier-worker').spec.template.spec;
    expect(worker.containers[0].image).toBe('registry.example.com/conveyor/classifier-gpu:0.1.0');
    expect(worker.containers[0].resources.limits['nvidia.com/gpu']).toBe('1');
    expect(worker.tolerations).toEqual([
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
    ]);
    const api = byName(gpu, 'Deployment', 'classifier-api').spec.template.spec;
    expect(api.containers[0].image).toBe('registry.example.com/conveyor/classifier:0.1.0');
    expect(api.containers[0].resources.limits['nvidia.com/gpu']).toBeUndefined();
  });
});

describe('the validators catch broken manifests', () => {
  const external = externalSecretsFrom(secretTemplates(DEPLOY_DIR));
  const problemsAfter = (mutate: (objects: KubeObject[]) => void) => {
    const objects = structuredClone(renderOverlay('prod'));
    mutate(objects);
    return validateRendered(objects, { workspaceRoot: WORKSPACE_ROOT, external });
  };
  const container = (objects: KubeObject[], name: string) =>
    byName(objects, 'Deployment', name).spec.template.spec.containers[0];

  it.each<[string, (objects: KubeObject[]) => void, RegExp]>([
    [
      'a schema violation',
      (o) => (container(o, 'checkers').ports[0].containerPort = 'http'),
      /Deployment\/checkers: \/spec\/template\/spec\/containers\/0\/ports\/0\/containerPort must be integer/,
    ],
    [
      'a Service selecting nothing',
      (o) =>
        (byName(o, 'Service', 'checkers').spec.selector = { 'app.kubernetes.io/name': 'checker' }),
      /Service\/checkers: selector .* matches no pod template/,
    ],
    [
      'a wrong targetPort',
      (o) => (byName(o, 'Service', 'orchestrator').spec.ports[0].targetPort = 'web'),
      /Service\/orchestrator: targetPort "web" is not a port of Deployment\/orchestrator/,
    ],
    [
      'a missing annotation',
      (o) => delete byName(o, 'Service', 'checkers-engine').metadata.annotations,
      /Service\/checkers-engine: needs annotation k8s-svc-proxy.local\/endpoint-port: admin/,
    ],
    [
      'a Secret key nobody defines',
      (o) => (container(o, 'orchestrator').env[0].valueFrom.secretKeyRef.key = 'uri'),
      /Secret "conveyor-rabbitmq" has no key "uri"/,
    ],
    [
      'a missing ConfigMap',
      (o) =>
        o.splice(
          o.findIndex((x) => x.metadata.name === 'orchestrator-workflows'),
          1,
        ),
      /ConfigMap "orchestrator-workflows" does not exist/,
    ],
    [
      'a missing ServiceAccount',
      (o) =>
        o.splice(
          o.findIndex((x) => x.kind === 'ServiceAccount'),
          1,
        ),
      /ServiceAccount "svc-proxy" does not exist/,
    ],
    [
      'PORT not 8080',
      (o) =>
        ((byName(o, 'ConfigMap', 'conveyor-config')['data'] as Record<string, string>)['PORT'] =
          '3000'),
      /PORT is "3000", must be "8080"/,
    ],
    [
      'a probe on the wrong path',
      (o) => (container(o, 'classifier-api').readinessProbe.httpGet.path = '/health'),
      /readinessProbe must be an HTTP GET of \/readyz/,
    ],
    [
      'no startup probe (liveness would restart a slow starter)',
      (o) => delete container(o, 'classifier-worker').startupProbe,
      /startupProbe must be an HTTP GET of \/healthz/,
    ],
    [
      'a probe on an undeclared port',
      (o) => (container(o, 'svc-proxy').livenessProbe.httpGet.port = 'metrics'),
      /probes port "metrics", which it does not declare/,
    ],
    [
      'an image on latest',
      (o) => (container(o, 'checkers').image = 'conveyor/checkers:latest'),
      /must be pinned to a version tag or digest/,
    ],
    [
      'a root container',
      (o) =>
        (byName(o, 'Deployment', 'svc-proxy').spec.template.spec.securityContext.runAsUser = 0),
      /needs a numeric non-zero runAsUser/,
    ],
    [
      'a writable root filesystem',
      (o) => (container(o, 'checkers').securityContext.readOnlyRootFilesystem = false),
      /must set readOnlyRootFilesystem: true/,
    ],
    [
      'missing limits',
      (o) => delete container(o, 'checkers').resources.limits,
      /container checkers: no cpu limits/,
    ],
    [
      'a worker without autoscaler',
      (o) =>
        o.splice(
          o.findIndex(
            (x) => x.kind === 'HorizontalPodAutoscaler' && x.metadata.name === 'checkers-engine',
          ),
          1,
        ),
      /Deployment\/checkers-engine: worker without a HorizontalPodAutoscaler/,
    ],
    [
      'replicas under an autoscaler',
      (o) => (byName(o, 'Deployment', 'classifier-worker').spec.replicas = 2),
      /sets spec.replicas although HorizontalPodAutoscaler\/classifier-worker owns it/,
    ],
    [
      'an app without a disruption budget',
      (o) =>
        o.splice(
          o.findIndex(
            (x) => x.kind === 'PodDisruptionBudget' && x.metadata.name === 'orchestrator',
          ),
          1,
        ),
      /Deployment\/orchestrator: no PodDisruptionBudget covers it/,
    ],
    [
      'an entry point the image does not have',
      (o) => (container(o, 'classifier-worker').command = ['node', 'dist/apps/classifier/nope.js']),
      /apps\/classifier\/src\/nope.ts is not an entry point build-app.mjs bundles/,
    ],
    [
      'an Ingress to a missing port',
      (o) =>
        (byName(o, 'Ingress', 'conveyor').spec.rules[0].http.paths[0].backend.service.port = {
          name: 'https',
        }),
      /Ingress\/conveyor: Service "checkers" has no port \{"name":"https"\}/,
    ],
    [
      'a worker script passed as args only',
      (o) => {
        const c = container(o, 'checkers-engine');
        c.args = c.command.slice(1);
        delete c.command;
      },
      /runs dist\/apps\/checkers\/engine-worker.js through args only/,
    ],
    [
      'wider svc-proxy RBAC',
      (o) =>
        (byName(o, 'Role', 'svc-proxy-discovery')['rules'] as any[]).push({
          apiGroups: [''],
          resources: ['secrets'],
          verbs: ['get'],
        }),
      /svc-proxy must not get access to core\/secrets/,
    ],
    [
      'a NetworkPolicy for nobody',
      (o) =>
        (byName(o, 'NetworkPolicy', 'allow-db-clients').spec.podSelector.matchLabels[
          'app.kubernetes.io/name'
        ] = 'postgresql'),
      /NetworkPolicy\/allow-db-clients: podSelector matches no pod template/,
    ],
  ])('%s', (_what, mutate, expected) => {
    const problems = problemsAfter(mutate);
    expect(problems.join('\n')).toMatch(expected);
  });

  it('reports nothing for the untouched overlay (so each case above is caused by its mutation)', () => {
    expect(problemsAfter(() => undefined)).toEqual([]);
  });
});
