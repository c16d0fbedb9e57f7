import { isRecord, KustomizeError, type KubeObject } from './resource';

/**
 * Strategic merge patch, the subset Kubernetes' own implementation (and so kustomize) applies to
 * the objects Conveyor patches: maps merge recursively, `null` deletes a key, lists with a merge
 * key (containers by name, env by name, ...) merge element-wise, every other list is replaced.
 * Merged lists come out as the patch's elements in patch order followed by the remaining
 * original elements in their order, which is what apimachinery produces.
 * `$patch`, `$retainKeys`, `$setElementOrder` and `$deleteFromPrimitiveList` directives are not
 * supported and are rejected with an error rather than silently mis-applied.
 */

type MergeKeys = Readonly<Record<string, string>>;

const POD_SPEC_LISTS: MergeKeys = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
};
const CONTAINER_LISTS: MergeKeys = {
  ports: 'containerPort',
  env: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
};
const CONTAINER_FIELDS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/** Where the pod spec lives in each workload kind (as field paths, list indices dropped). */
const POD_SPEC_PATHS: Readonly<Record<string, string>> = {
  Pod: 'spec',
  Deployment: 'spec.template.spec',
  StatefulSet: 'spec.template.spec',
  DaemonSet: 'spec.template.spec',
  ReplicaSet: 'spec.template.spec',
  ReplicationController: 'spec.template.spec',
  Job: 'spec.template.spec',
  CronJob: 'spec.jobTemplate.spec.template.spec',
};

/** The merge key of the list at `path` (field names from the object root), if it has one. */
export function mergeKeyFor(kind: string, path: readonly string[]): string | undefined {
  const joined = path.join('.');
  if (joined === 'metadata.ownerReferences') return 'uid';
  if (kind === 'Service' && joined === 'spec.ports') return 'port';
  const podSpec = POD_SPEC_PATHS[kind];
  if (!podSpec) return undefined;
  const field = path[path.length - 1] ?? '';
  const parent = path.slice(0, -1).join('.');
  if (parent === podSpec) return POD_SPEC_LISTS[field];
  const grandParentField = path[path.length - 2] ?? '';
  if (path.slice(0, -2).join('.') === podSpec && CONTAINER_FIELDS.has(grandParentField)) {
    return CONTAINER_LISTS[field];
  }
  return undefined;
}

function rejectDirectives(patch: Record<string, unknown>, where: string): void {
  for (const key of Object.keys(patch)) {
    if (key.startsWith('$')) {
      throw new KustomizeError(
        `${where}: the strategic-merge directive "${key}" is outside the supported kustomize subset; use a JSON 6902 patch (op: remove/replace) instead`,
      );
    }
  }
}

function mergeMaps(
  target: Record<string, unknown>,
  patch: Record<string, unknown>,
  kind: string,
  path: string[],
): Record<string, unknown> {
  rejectDirectives(patch, path.join('.') || '(root)');
  const result: Record<string, unknown> = { ...target };
  for (const [key, patchValue] of Object.entries(patch)) {
    const here = [...path, key];
    const current = result[key];
    if (patchValue === null) {
      delete result[key];
    } else if (isRecord(patchValue) && isRecord(current)) {
      result[key] = mergeMaps(current, patchValue, kind, here);
    } else if (Array.isArray(patchValue) && Array.isArray(current)) {
      result[key] = mergeLists(current, patchValue, kind, here);
    } else if (isRecord(patchValue)) {
      // New map: still walk it so directives inside are rejected and nulls dropped.
      result[key] = mergeMaps({}, patchValue, kind, here);
    } else {
      result[key] = patchValue;
    }
  }
  return result;
}

function mergeLists(target: unknown[], patch: unknown[], kind: string, path: string[]): unknown[] {
  const key = mergeKeyFor(kind, path);
  if (!key) return patch;
  const where = path.join('.');
  const keyOf = (item: unknown, side: string): unknown => {
    if (!isRecord(item) || item[key] === undefined) {
      throw new KustomizeError(
        `${where}: every ${side} element must be a map with "${key}" (the list's merge key)`,
      );
    }
    return item[key];
  };
  const used = new Set<number>();
  const merged = patch.map((item) => {
    const k = keyOf(item, 'patch');
    const index = target.findIndex((t, i) => !used.has(i) && keyOf(t, 'original') === k);
    if (index === -1) return mergeMaps({}, item as Record<string, unknown>, kind, path);
    used.add(index);
    return mergeMaps(
      target[index] as Record<string, unknown>,
      item as Record<string, unknown>,
      kind,
      path,
    );
  });
  return [...merged, ...target.filter((_, i) => !used.has(i))];
}

export function strategicMerge(target: KubeObject, patch: Record<string, unknown>): KubeObject {
  return mergeMaps(target, patch, target.kind, []) as KubeObject;
}
