import type { ImageEntry } from './kustomization';
import { isRecord, KustomizeError, type KubeObject } from './resource';

/** Kinds without a namespace: the namespace transformer leaves them alone. */
export const CLUSTER_SCOPED_KINDS = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
  'RuntimeClass',
  'CSIDriver',
  'CSINode',
  'VolumeAttachment',
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'CertificateSigningRequest',
  'FlowSchema',
  'PriorityLevelConfiguration',
  'PodSecurityPolicy',
  'ComponentStatus',
]);

/**
 * Sets metadata.namespace on namespaced objects. Like kustomize, it also moves the
 * ServiceAccount subjects of (Cluster)RoleBindings that point at a ServiceAccount of this
 * build and have no namespace or "default", so bindings follow their accounts.
 */
export function setNamespace(objects: KubeObject[], namespace: string): void {
  const accounts = new Set(
    objects.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name),
  );
  for (const obj of objects) {
    if (!CLUSTER_SCOPED_KINDS.has(obj.kind)) obj.metadata.namespace = namespace;
    if (
      (obj.kind === 'RoleBinding' || obj.kind === 'ClusterRoleBinding') &&
      Array.isArray(obj['subjects'])
    ) {
      for (const subject of obj['subjects'] as unknown[]) {
        if (!isRecord(subject) || subject['kind'] !== 'ServiceAccount') continue;
        const ns = subject['namespace'];
        if ((ns === undefined || ns === 'default') && accounts.has(String(subject['name']))) {
          subject['namespace'] = namespace;
        }
      }
    }
  }
}

const TEMPLATE_LABEL_PATHS: Readonly<Record<string, readonly (readonly string[])[]>> = {
  Deployment: [['spec', 'template', 'metadata', 'labels']],
  StatefulSet: [['spec', 'template', 'metadata', 'labels']],
  DaemonSet: [['spec', 'template', 'metadata', 'labels']],
  ReplicaSet: [['spec', 'template', 'metadata', 'labels']],
  ReplicationController: [['spec', 'template', 'metadata', 'labels']],
  Job: [['spec', 'template', 'metadata', 'labels']],
  CronJob: [
    ['spec', 'jobTemplate', 'metadata', 'labels'],
    ['spec', 'jobTemplate', 'spec', 'template', 'metadata', 'labels'],
  ],
};

function mapAt(obj: Record<string, unknown>, path: readonly string[]): Record<string, unknown> {
  let here = obj;
  for (const key of path) {
    const next = here[key];
    if (next === undefined || next === null) here[key] = {};
    else if (!isRecord(next))
      throw new KustomizeError(`cannot add labels: ${path.join('.')} is not a map`);
    here = here[key] as Record<string, unknown>;
  }
  return here;
}

/** `labels:` with includeSelectors false: metadata labels everywhere, pod templates on request. */
export function addLabels(
  objects: KubeObject[],
  pairs: Record<string, string>,
  includeTemplates: boolean,
): void {
  for (const obj of objects) {
    Object.assign(mapAt(obj, ['metadata', 'labels']), pairs);
    if (!includeTemplates) continue;
    for (const path of TEMPLATE_LABEL_PATHS[obj.kind] ?? []) Object.assign(mapAt(obj, path), pairs);
    // kustomize counts a StatefulSet's volume claim templates as templates too.
    const claims =
      obj.kind === 'StatefulSet' && isRecord(obj['spec'])
        ? obj['spec']['volumeClaimTemplates']
        : undefined;
    if (Array.isArray(claims)) {
      for (const claim of claims)
        if (isRecord(claim)) Object.assign(mapAt(claim, ['metadata', 'labels']), pairs);
    }
  }
}

/** Splits "registry:5000/team/app:1.2@sha256:..." into its name, tag and digest. */
export function parseImage(image: string): { name: string; tag?: string; digest?: string } {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  // A colon before the last slash belongs to a registry port, not a tag.
  if (colon > rest.lastIndexOf('/')) {
    return {
      name: rest.slice(0, colon),
      tag: rest.slice(colon + 1),
      ...(digest ? { digest } : {}),
    };
  }
  return { name: rest, ...(digest ? { digest } : {}) };
}

export function rewriteImage(image: string, entry: ImageEntry): string {
  const current = parseImage(image);
  const name = entry.newName ?? current.name;
  if (entry.newTag !== undefined || entry.digest !== undefined) {
    return `${name}${entry.newTag !== undefined ? `:${entry.newTag}` : ''}${entry.digest ? `@${entry.digest}` : ''}`;
  }
  return `${name}${current.tag !== undefined ? `:${current.tag}` : ''}${current.digest ? `@${current.digest}` : ''}`;
}

/** `images:` rewrites every container and init container whose image name matches exactly. */
export function setImages(objects: KubeObject[], entries: readonly ImageEntry[]): void {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!isRecord(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'containers' || key === 'initContainers') && Array.isArray(value)) {
        for (const container of value) {
          if (!isRecord(container) || typeof container['image'] !== 'string') continue;
          const entry = entries.find(
            (e) => e.name === parseImage(container['image'] as string).name,
          );
          if (entry) container['image'] = rewriteImage(container['image'] as string, entry);
        }
      }
      visit(value);
    }
  };
  objects.forEach(visit);
}

const SCALABLE_KINDS = ['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController'];

export function setReplicas(
  objects: KubeObject[],
  entries: readonly { name: string; count: number }[],
): void {
  for (const { name, count } of entries) {
    const targets = objects.filter(
      (o) => o.metadata.name === name && SCALABLE_KINDS.includes(o.kind),
    );
    if (targets.length === 0) {
      throw new KustomizeError(`replicas: no ${SCALABLE_KINDS.join('/')} named "${name}"`);
    }
    for (const obj of targets) mapAt(obj, ['spec'])['replicas'] = count;
  }
}
