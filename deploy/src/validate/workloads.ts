import { isRecord, type KubeObject } from '../kustomize/resource';

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  env?: { name: string; value?: string; valueFrom?: Record<string, Record<string, unknown>> }[];
  envFrom?: {
    configMapRef?: { name: string; optional?: boolean };
    secretRef?: { name: string; optional?: boolean };
  }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  securityContext?: Record<string, unknown>;
}

export interface Probe {
  httpGet?: { path?: string; port: number | string };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: ({ name: string } & Record<string, unknown>)[];
  serviceAccountName?: string;
  securityContext?: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
}

/** A pod-producing object with where its pods' labels and spec live. */
export interface Workload {
  readonly object: KubeObject;
  readonly podLabels: Record<string, string>;
  readonly podAnnotations: Record<string, string>;
  readonly podSpec: PodSpec;
}

const get = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((here, key) => (isRecord(here) ? here[key] : undefined), value);

export function workloadsOf(objects: readonly KubeObject[]): Workload[] {
  const result: Workload[] = [];
  for (const object of objects) {
    const template =
      object.kind === 'CronJob'
        ? get(object, 'spec', 'jobTemplate', 'spec', 'template')
        : ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(object.kind)
          ? get(object, 'spec', 'template')
          : object.kind === 'Pod'
            ? object
            : undefined;
    if (!isRecord(template)) continue;
    const podSpec = (object.kind === 'Pod' ? object['spec'] : template['spec']) as PodSpec;
    const podLabels = (get(template, 'metadata', 'labels') ?? {}) as Record<string, string>;
    const podAnnotations = (get(template, 'metadata', 'annotations') ?? {}) as Record<
      string,
      string
    >;
    result.push({ object, podLabels, podAnnotations, podSpec });
  }
  return result;
}

export function allContainers(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

/** A label selector (matchLabels + matchExpressions, or a plain Service map) applied to labels. */
export function selectorMatches(selector: unknown, labels: Record<string, string>): boolean {
  if (!isRecord(selector)) return false;
  const isLabelSelector = 'matchLabels' in selector || 'matchExpressions' in selector;
  const matchLabels = (isLabelSelector ? selector['matchLabels'] : selector) as
    Record<string, string> | undefined;
  for (const [k, v] of Object.entries(matchLabels ?? {})) if (labels[k] !== v) return false;
  if (!isLabelSelector) return true;
  for (const expr of (selector['matchExpressions'] ?? []) as {
    key: string;
    operator: string;
    values?: string[];
  }[]) {
    const value = labels[expr.key];
    const ok =
      expr.operator === 'In'
        ? value !== undefined && (expr.values ?? []).includes(value)
        : expr.operator === 'NotIn'
          ? value === undefined || !(expr.values ?? []).includes(value)
          : expr.operator === 'Exists'
            ? value !== undefined
            : value === undefined; // DoesNotExist
    if (!ok) return false;
  }
  return true;
}

export function isEmptySelector(selector: unknown): boolean {
  return (
    isRecord(selector) &&
    Object.keys(selector).every((k) => {
      const v = selector[k];
      return (Array.isArray(v) && v.length === 0) || (isRecord(v) && Object.keys(v).length === 0);
    })
  );
}
