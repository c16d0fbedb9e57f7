import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { ENDPOINT_PORT_ANNOTATION } from '../config';

/** One pod the proxy may reach: the only kind of upstream it ever connects to. */
export interface Target {
  readonly namespace: string;
  readonly service: string;
  readonly pod: string;
  readonly ip: string;
  readonly port: number;
  readonly node?: string;
  readonly ready: boolean;
}

export type PortSpec =
  | { readonly kind: 'number'; readonly port: number }
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'invalid'; readonly reason: string };

/** A Service whose annotation could not be used, and why (shown in /debug/vars and logs). */
export interface TargetProblem {
  readonly namespace: string;
  readonly service: string;
  readonly problem: string;
}

// DNS-1123 subdomain (pod names) and label (namespaces, services, port names are IANA_SVC_NAME).
export const SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const LABEL_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PORT_NAME_RE = /^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/;

export function parsePortAnnotation(value: string | undefined): PortSpec {
  const v = (value ?? '').trim();
  if (v === '') return { kind: 'invalid', reason: `${ENDPOINT_PORT_ANNOTATION} is empty` };
  if (/^[0-9]+$/.test(v)) {
    const port = Number(v);
    return port >= 1 && port <= 65535
      ? { kind: 'number', port }
      : {
          kind: 'invalid',
          reason: `${ENDPOINT_PORT_ANNOTATION}=${v} is not a port number from 1 to 65535`,
        };
  }
  return PORT_NAME_RE.test(v)
    ? { kind: 'name', name: v }
    : {
        kind: 'invalid',
        reason: `${ENDPOINT_PORT_ANNOTATION}=${JSON.stringify(v)} is neither a port number nor a port name`,
      };
}

/**
 * The pod port a named annotation refers to. EndpointSlice ports carry the Service port names
 * with the pod-side numbers, so they answer directly; a numeric Service targetPort is the
 * fallback while a slice has no ports listed.
 */
function resolvePort(
  spec: PortSpec,
  service: V1Service,
  slice: V1EndpointSlice,
): number | undefined {
  if (spec.kind === 'number') return spec.port;
  if (spec.kind === 'invalid') return undefined;
  const fromSlice = slice.ports?.find((p) => p.name === spec.name)?.port;
  if (fromSlice !== undefined) return fromSlice;
  const servicePort = service.spec?.ports?.find((p) => p.name === spec.name);
  const targetPort = servicePort?.targetPort ?? servicePort?.port;
  return typeof targetPort === 'number' ? targetPort : undefined;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

/** Ready per the EndpointSlice API: nil means true; `serving` still reflects the pod when publishNotReadyAddresses is set. */
const isReady = (
  conditions: { ready?: boolean; serving?: boolean; terminating?: boolean } | undefined,
): boolean =>
  conditions?.ready !== false && conditions?.serving !== false && conditions?.terminating !== true;

/**
 * Joins annotated Services with their EndpointSlices into the set of reachable pods.
 * Pure, so every rule (annotation, readiness, naming) is tested without a cluster.
 */
export function resolveTargets(
  services: readonly V1Service[],
  slices: readonly V1EndpointSlice[],
): { targets: Target[]; problems: TargetProblem[] } {
  const annotated = new Map<string, { service: V1Service; spec: PortSpec }>();
  const problems: TargetProblem[] = [];
  for (const service of services) {
    const namespace = service.metadata?.namespace ?? '';
    const name = service.metadata?.name ?? '';
    const value = service.metadata?.annotations?.[ENDPOINT_PORT_ANNOTATION];
    if (value === undefined || !LABEL_RE.test(namespace) || !LABEL_RE.test(name)) continue;
    const spec = parsePortAnnotation(value);
    if (spec.kind === 'invalid') problems.push({ namespace, service: name, problem: spec.reason });
    else annotated.set(key(namespace, name), { service, spec });
  }

  const targets = new Map<string, Target>();
  const unresolved = new Set<string>();
  for (const slice of slices) {
    const namespace = slice.metadata?.namespace ?? '';
    const serviceName = slice.metadata?.labels?.['kubernetes.io/service-name'];
    if (!serviceName || slice.addressType === 'FQDN') continue;
    const entry = annotated.get(key(namespace, serviceName));
    if (!entry) continue;
    const port = resolvePort(entry.spec, entry.service, slice);
    if (port === undefined) {
      unresolved.add(key(namespace, serviceName));
      continue;
    }
    for (const endpoint of slice.endpoints ?? []) {
      const ref = endpoint.targetRef;
      const ip = endpoint.addresses?.[0];
      if (ref?.kind !== 'Pod' || !ref.name || !SUBDOMAIN_RE.test(ref.name) || !ip) continue;
      if (ref.namespace !== undefined && ref.namespace !== namespace) continue;
      if (!isReady(endpoint.conditions)) continue;
      const target: Target = {
        namespace,
        service: serviceName,
        pod: ref.name,
        ip,
        port,
        ...(endpoint.nodeName ? { node: endpoint.nodeName } : {}),
        ready: true,
      };
      targets.set(`${namespace}/${serviceName}/${ref.name}`, target);
    }
  }
  for (const k of unresolved) {
    const [namespace = '', service = ''] = k.split('/');
    const spec = annotated.get(k)?.spec;
    problems.push({
      namespace,
      service,
      problem: `${ENDPOINT_PORT_ANNOTATION} names port ${JSON.stringify(spec?.kind === 'name' ? spec.name : '')}, which neither the Service nor its EndpointSlices define with a number`,
    });
  }
  const sorted = [...targets.values()].sort(
    (a, b) =>
      a.namespace.localeCompare(b.namespace) ||
      a.service.localeCompare(b.service) ||
      a.pod.localeCompare(b.pod),
  );
  return { targets: sorted, problems };
}
