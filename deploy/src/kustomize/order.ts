import { groupVersion, type KubeObject } from './resource';

// kustomize's "legacy" output order (the default of `kubectl kustomize` and `kubectl apply -k`):
// kinds others depend on first, webhooks last, everything else by group/version/kind, then
// namespace and name.
const ORDER_FIRST = [
  'Namespace',
  'ResourceQuota',
  'StorageClass',
  'CustomResourceDefinition',
  'ServiceAccount',
  'PodSecurityPolicy',
  'Role',
  'ClusterRole',
  'RoleBinding',
  'ClusterRoleBinding',
  'ConfigMap',
  'Secret',
  'Endpoints',
  'Service',
  'LimitRange',
  'PriorityClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'Deployment',
  'StatefulSet',
  'CronJob',
  'PodDisruptionBudget',
];
const ORDER_LAST = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];

function kindRank(kind: string): number {
  const first = ORDER_FIRST.indexOf(kind);
  if (first !== -1) return first - ORDER_FIRST.length;
  const last = ORDER_LAST.indexOf(kind);
  return last === -1 ? 0 : last + 1;
}

function gvkString(obj: KubeObject): string {
  const { group, version } = groupVersion(obj.apiVersion);
  return `${group || '~G'}_${version || '~V'}_${obj.kind}`;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function legacyCompare(a: KubeObject, b: KubeObject): number {
  return (
    kindRank(a.kind) - kindRank(b.kind) ||
    compare(gvkString(a), gvkString(b)) ||
    compare(a.metadata.namespace ?? '', b.metadata.namespace ?? '') ||
    compare(a.metadata.name, b.metadata.name)
  );
}
