import { isRecord, type KubeObject } from '../kustomize/resource';
import {
  allContainers,
  isEmptySelector,
  selectorMatches,
  workloadsOf,
  type Container,
  type Workload,
} from './workloads';

/** ConfigMaps/Secrets that exist outside the rendered output (e.g. created out of band in prod). */
export interface ExternalObjects {
  /** name → keys it is documented to hold. */
  readonly secrets: ReadonlyMap<string, ReadonlySet<string>>;
}

const keysOf = (obj: KubeObject): Set<string> =>
  new Set([
    ...Object.keys((obj['data'] as object) ?? {}),
    ...Object.keys((obj['stringData'] as object) ?? {}),
  ]);

const named = (objects: readonly KubeObject[], kind: string, name: string, namespace?: string) =>
  objects.find(
    (o) =>
      o.kind === kind &&
      o.metadata.name === name &&
      (namespace === undefined || (o.metadata.namespace ?? '') === namespace),
  );

/**
 * Cross-object consistency: what `kubectl apply` would accept but a cluster would not run —
 * Services selecting no pods, references to ConfigMaps, Secrets, keys, ServiceAccounts, Roles,
 * volumes or ports that do not exist, autoscalers and budgets aimed at nothing.
 */
export function referenceProblems(
  objects: readonly KubeObject[],
  external: ExternalObjects,
): string[] {
  const problems: string[] = [];
  const workloads = workloadsOf(objects);
  const where = (w: Workload) => `${w.object.kind}/${w.object.metadata.name}`;

  const configMapKeys = (name: string): Set<string> | undefined => {
    const cm = named(objects, 'ConfigMap', name);
    return cm ? keysOf(cm) : undefined;
  };
  const secretKeys = (name: string): ReadonlySet<string> | undefined => {
    const secret = named(objects, 'Secret', name);
    return secret ? keysOf(secret) : external.secrets.get(name);
  };
  const checkRef = (
    w: Workload,
    what: 'ConfigMap' | 'Secret',
    name: string,
    key: string | undefined,
    optional: boolean | undefined,
  ) => {
    const keys = what === 'ConfigMap' ? configMapKeys(name) : secretKeys(name);
    if (!keys) {
      if (!optional) problems.push(`${where(w)}: ${what} "${name}" does not exist`);
      return;
    }
    if (key !== undefined && !keys.has(key) && !optional)
      problems.push(`${where(w)}: ${what} "${name}" has no key "${key}"`);
  };

  for (const w of workloads) {
    const volumes = new Set((w.podSpec.volumes ?? []).map((v) => v.name));
    const claims =
      w.object.kind === 'StatefulSet'
        ? ((w.object['spec'] as Record<string, unknown>)['volumeClaimTemplates'] as
            { metadata: { name: string } }[] | undefined)
        : undefined;
    for (const c of claims ?? []) volumes.add(c.metadata.name);
    for (const v of w.podSpec.volumes ?? []) {
      if (isRecord(v['configMap']))
        checkRef(
          w,
          'ConfigMap',
          String(v['configMap']['name']),
          undefined,
          v['configMap']['optional'] as boolean | undefined,
        );
      if (isRecord(v['secret']))
        checkRef(
          w,
          'Secret',
          String(v['secret']['secretName']),
          undefined,
          v['secret']['optional'] as boolean | undefined,
        );
    }
    if (
      w.podSpec.serviceAccountName &&
      !named(objects, 'ServiceAccount', w.podSpec.serviceAccountName)
    ) {
      problems.push(`${where(w)}: ServiceAccount "${w.podSpec.serviceAccountName}" does not exist`);
    }
    for (const c of allContainers(w.podSpec)) {
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef)
          checkRef(w, 'ConfigMap', from.configMapRef.name, undefined, from.configMapRef.optional);
        if (from.secretRef)
          checkRef(w, 'Secret', from.secretRef.name, undefined, from.secretRef.optional);
      }
      for (const e of c.env ?? []) {
        const cmRef = e.valueFrom?.['configMapKeyRef'];
        const secretRef = e.valueFrom?.['secretKeyRef'];
        if (cmRef)
          checkRef(
            w,
            'ConfigMap',
            String(cmRef['name']),
            String(cmRef['key']),
            cmRef['optional'] as boolean | undefined,
          );
        if (secretRef)
          checkRef(
            w,
            'Secret',
            String(secretRef['name']),
            String(secretRef['key']),
            secretRef['optional'] as boolean | undefined,
          );
      }
      for (const m of c.volumeMounts ?? []) {
        if (!volumes.has(m.name))
          problems.push(
            `${where(w)}: container ${c.name} mounts volume "${m.name}", which the pod does not define`,
          );
      }
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
        const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
        if (port !== undefined && containerPort(c, port) === undefined) {
          problems.push(
            `${where(w)}: container ${c.name} probes port ${JSON.stringify(port)}, which it does not declare`,
          );
        }
      }
    }
  }

  for (const svc of objects.filter((o) => o.kind === 'Service')) {
    const spec = svc['spec'] as {
      selector?: Record<string, string>;
      ports?: { name?: string; port: number; targetPort?: number | string }[];
      clusterIP?: string;
    };
    if (!spec.selector) continue;
    const selected = workloads.filter((w) => selectorMatches(spec.selector, w.podLabels));
    if (selected.length === 0) {
      problems.push(
        `Service/${svc.metadata.name}: selector ${JSON.stringify(spec.selector)} matches no pod template`,
      );
      continue;
    }
    for (const port of spec.ports ?? []) {
      const target = port.targetPort ?? port.port;
      for (const w of selected) {
        if (!w.podSpec.containers.some((c) => containerPort(c, target) !== undefined)) {
          problems.push(
            `Service/${svc.metadata.name}: targetPort ${JSON.stringify(target)} is not a port of ${where(w)}`,
          );
        }
      }
    }
  }

  for (const sts of objects.filter((o) => o.kind === 'StatefulSet')) {
    const serviceName = (sts['spec'] as { serviceName?: string }).serviceName;
    const svc = serviceName ? named(objects, 'Service', serviceName) : undefined;
    if (!svc)
      problems.push(
        `StatefulSet/${sts.metadata.name}: governing Service "${serviceName}" does not exist`,
      );
    else if ((svc['spec'] as { clusterIP?: string }).clusterIP !== 'None')
      problems.push(
        `StatefulSet/${sts.metadata.name}: governing Service "${serviceName}" must be headless (clusterIP: None)`,
      );
  }

  for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
    const ref = (hpa['spec'] as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
    const target = named(objects, ref.kind, ref.name);
    if (!target) {
      problems.push(
        `HorizontalPodAutoscaler/${hpa.metadata.name}: scale target ${ref.kind}/${ref.name} does not exist`,
      );
      continue;
    }
    if ((target['spec'] as { replicas?: number }).replicas !== undefined) {
      problems.push(
        `${ref.kind}/${ref.name}: sets spec.replicas although HorizontalPodAutoscaler/${hpa.metadata.name} owns it (every apply would reset the count)`,
      );
    }
    const w = workloads.find((x) => x.object === target);
    for (const c of w?.podSpec.containers ?? []) {
      if (c.resources?.requests?.['cpu'] === undefined)
        problems.push(
          `${ref.kind}/${ref.name}: container ${c.name} has no CPU request, so CPU-utilisation autoscaling cannot work`,
        );
    }
  }

  for (const pdb of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
    const selector = (pdb['spec'] as { selector?: unknown }).selector;
    if (!workloads.some((w) => selectorMatches(selector, w.podLabels)))
      problems.push(`PodDisruptionBudget/${pdb.metadata.name}: selector matches no pod template`);
  }

  for (const np of objects.filter((o) => o.kind === 'NetworkPolicy')) {
    const spec = np['spec'] as {
      podSelector: unknown;
      ingress?: { from?: { podSelector?: unknown; namespaceSelector?: unknown }[] }[];
    };
    if (
      !isEmptySelector(spec.podSelector) &&
      !workloads.some((w) => selectorMatches(spec.podSelector, w.podLabels))
    ) {
      problems.push(`NetworkPolicy/${np.metadata.name}: podSelector matches no pod template`);
    }
    for (const rule of spec.ingress ?? []) {
      for (const peer of rule.from ?? []) {
        if (
          peer.podSelector &&
          !peer.namespaceSelector &&
          !isEmptySelector(peer.podSelector) &&
          !workloads.some((w) => selectorMatches(peer.podSelector, w.podLabels))
        ) {
          problems.push(
            `NetworkPolicy/${np.metadata.name}: an ingress peer podSelector matches no pod template`,
          );
        }
      }
    }
  }

  for (const ing of objects.filter((o) => o.kind === 'Ingress')) {
    const rules = ((ing['spec'] as { rules?: unknown[] }).rules ?? []) as {
      http?: {
        paths: {
          backend: { service?: { name: string; port: { name?: string; number?: number } } };
        }[];
      };
    }[];
    for (const rule of rules) {
      for (const p of rule.http?.paths ?? []) {
        const backend = p.backend.service;
        if (!backend) continue;
        const svc = named(objects, 'Service', backend.name);
        if (!svc) {
          problems.push(
            `Ingress/${ing.metadata.name}: backend Service "${backend.name}" does not exist`,
          );
          continue;
        }
        const ports = (svc['spec'] as { ports?: { name?: string; port: number }[] }).ports ?? [];
        if (
          !ports.some((sp) =>
            backend.port.name !== undefined
              ? sp.name === backend.port.name
              : sp.port === backend.port.number,
          )
        ) {
          problems.push(
            `Ingress/${ing.metadata.name}: Service "${backend.name}" has no port ${JSON.stringify(backend.port)}`,
          );
        }
      }
    }
  }

  for (const rb of objects.filter(
    (o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding',
  )) {
    const roleRef = rb['roleRef'] as { kind: string; name: string };
    if (!named(objects, roleRef.kind, roleRef.name))
      problems.push(
        `${rb.kind}/${rb.metadata.name}: ${roleRef.kind} "${roleRef.name}" does not exist`,
      );
    for (const s of (rb['subjects'] ?? []) as {
      kind: string;
      name: string;
      namespace?: string;
    }[]) {
      if (s.kind !== 'ServiceAccount') continue;
      const ns = s.namespace ?? rb.metadata.namespace;
      if (!named(objects, 'ServiceAccount', s.name, ns))
        problems.push(
          `${rb.kind}/${rb.metadata.name}: ServiceAccount ${ns ?? '(no namespace)'}/${s.name} does not exist`,
        );
    }
  }
  return problems;
}

/** The container port a probe or Service targets (by name or number), if the container declares it. */
export function containerPort(c: Container, port: number | string): number | undefined {
  const match = (c.ports ?? []).find((p) =>
    typeof port === 'string' ? p.name === port : p.containerPort === port,
  );
  return match?.containerPort;
}
