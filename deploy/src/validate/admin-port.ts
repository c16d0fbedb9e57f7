import type { KubeObject } from '../kustomize/resource';
import { containerPort } from './references';
import { selectorMatches, type Container, type Workload } from './workloads';

/**
 * Every Conveyor service serves /metrics, /debug/vars and /debug/pprof/ here in Kubernetes
 * (ADMIN_PORT), declared as the container port named "admin"; its PORT answers 404 for them.
 */
export const ADMIN_PORT = 9090;
export const ADMIN_PORT_NAME = 'admin';
export const ENDPOINT_PORT_ANNOTATION = 'k8s-svc-proxy.local/endpoint-port';

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
}

const servicePorts = (svc: KubeObject): ServicePort[] =>
  (svc['spec'] as { ports?: ServicePort[] } | undefined)?.ports ?? [];

/**
 * The pod port svc-proxy reaches for a Service, as svc-proxy resolves its annotation: a number is
 * the pod port itself; a name is one of the Service's ports (EndpointSlices carry their names),
 * whose targetPort is looked up in the container.
 */
export function annotatedPodPort(
  svc: KubeObject,
  c: Container,
): { port: number } | { problem: string } {
  const value = svc.metadata.annotations?.[ENDPOINT_PORT_ANNOTATION];
  if (value === undefined)
    return {
      problem: `needs annotation ${ENDPOINT_PORT_ANNOTATION}: ${ADMIN_PORT_NAME} (the pods' admin port), or svc-proxy cannot list its debug pages`,
    };
  if (/^\d+$/.test(value)) return { port: Number(value) };
  const named = servicePorts(svc).find((p) => p.name === value);
  if (!named)
    return {
      problem: `${ENDPOINT_PORT_ANNOTATION}: ${value} names no port of the Service (svc-proxy resolves a name through the Service's ports and their EndpointSlices)`,
    };
  const port = containerPort(c, named.targetPort ?? named.port);
  if (port === undefined)
    return {
      problem: `${ENDPOINT_PORT_ANNOTATION}: ${value} → targetPort ${JSON.stringify(named.targetPort ?? named.port)}, which container ${c.name} does not declare`,
    };
  return { port };
}

/** The admin port rules for one Conveyor app container (env, declared port, Prometheus). */
export function adminContainerProblems(
  w: Workload,
  c: Container,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const problems: string[] = [];
  const at = `${w.object.kind}/${w.object.metadata.name} container ${c.name}`;
  if (env['ADMIN_PORT'] !== String(ADMIN_PORT))
    problems.push(
      `${at}: ADMIN_PORT is ${JSON.stringify(env['ADMIN_PORT'])}, must be "${ADMIN_PORT}" (without it /metrics and /debug/* are served on the public port)`,
    );
  const declared = containerPort(c, ADMIN_PORT_NAME);
  if (declared === undefined)
    problems.push(`${at}: must declare containerPort ${ADMIN_PORT} named "${ADMIN_PORT_NAME}"`);
  else if (String(declared) !== env['ADMIN_PORT'])
    problems.push(
      `${at}: its "${ADMIN_PORT_NAME}" containerPort is ${declared} but ADMIN_PORT is ${JSON.stringify(env['ADMIN_PORT'])}: they must match`,
    );
  if (env['ADMIN_HOST'] !== undefined && env['ADMIN_HOST'] !== '0.0.0.0')
    problems.push(
      `${at}: ADMIN_HOST is ${JSON.stringify(env['ADMIN_HOST'])}; unset it (it follows HOST) or set "0.0.0.0", or svc-proxy and Prometheus cannot connect`,
    );
  const annotations = w.podAnnotations;
  if (annotations['prometheus.io/scrape'] === 'true') {
    if (annotations['prometheus.io/port'] !== env['ADMIN_PORT'])
      problems.push(
        `${w.object.kind}/${w.object.metadata.name}: prometheus.io/port is ${JSON.stringify(annotations['prometheus.io/port'])}, but /metrics is on ADMIN_PORT ${JSON.stringify(env['ADMIN_PORT'])}`,
      );
    if ((annotations['prometheus.io/path'] ?? '/metrics') !== '/metrics')
      problems.push(
        `${w.object.kind}/${w.object.metadata.name}: prometheus.io/path must be /metrics`,
      );
  }
  return problems;
}

/** A Service selecting Conveyor app pods: svc-proxy's annotation must reach their admin port. */
export function serviceAdminProblems(
  svc: KubeObject,
  appContainers: readonly Container[],
  envOf: (c: Container) => Readonly<Record<string, string | undefined>>,
): string[] {
  const problems: string[] = [];
  for (const c of appContainers) {
    const resolved = annotatedPodPort(svc, c);
    if ('problem' in resolved) {
      problems.push(`Service/${svc.metadata.name}: ${resolved.problem}`);
      break;
    }
    const adminPort = envOf(c)['ADMIN_PORT'];
    if (String(resolved.port) !== adminPort)
      problems.push(
        `Service/${svc.metadata.name}: ${ENDPOINT_PORT_ANNOTATION} reaches pod port ${resolved.port}, but container ${c.name} serves /debug/* on ADMIN_PORT ${JSON.stringify(adminPort)}`,
      );
  }
  return problems;
}

/** No Ingress may route to a Service port whose target is an app's admin port. */
export function ingressAdminProblems(
  objects: readonly KubeObject[],
  workloads: readonly Workload[],
): string[] {
  const problems: string[] = [];
  for (const ingress of objects.filter((o) => o.kind === 'Ingress')) {
    for (const backend of ingressBackends(ingress)) {
      const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === backend.name);
      if (!svc) continue;
      const port = servicePorts(svc).find((p) =>
        backend.port.name !== undefined
          ? p.name === backend.port.name
          : p.port === backend.port.number,
      );
      if (!port) continue;
      const target = port.targetPort ?? port.port;
      const reachesAdmin = workloads
        .filter((w) =>
          selectorMatches((svc['spec'] as { selector?: unknown }).selector, w.podLabels),
        )
        .some((w) =>
          w.podSpec.containers.some(
            (c) =>
              containerPort(c, target) !== undefined &&
              containerPort(c, target) === containerPort(c, ADMIN_PORT_NAME),
          ),
        );
      if (reachesAdmin)
        problems.push(
          `Ingress/${ingress.metadata.name}: routes to Service/${svc.metadata.name} port ${JSON.stringify(backend.port.name ?? backend.port.number)}, the admin port, which must stay inside the cluster`,
        );
    }
  }
  return problems;
}

interface Backend {
  name: string;
  port: { name?: string; number?: number };
}

function ingressBackends(ingress: KubeObject): Backend[] {
  const spec = ingress['spec'] as
    | {
        defaultBackend?: { service?: Backend };
        rules?: { http?: { paths?: { backend?: { service?: Backend } }[] } }[];
      }
    | undefined;
  const backends: Backend[] = [];
  if (spec?.defaultBackend?.service) backends.push(spec.defaultBackend.service);
  for (const rule of spec?.rules ?? [])
    for (const path of rule.http?.paths ?? [])
      if (path.backend?.service) backends.push(path.backend.service);
  return backends;
}
