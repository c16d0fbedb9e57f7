import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as plain JSON data. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } & Record<string, unknown>;
  [field: string]: unknown;
}

export class KustomizeError extends Error {
  override readonly name = 'KustomizeError';
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** "apps/v1" → { group: 'apps', version: 'v1' }; "v1" → core group ''. */
export function groupVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash === -1
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** Identity used for patch matching and duplicate detection: group/kind/namespace/name. */
export function resourceId(obj: KubeObject): string {
  return `${groupVersion(obj.apiVersion).group || 'core'}/${obj.kind}/${obj.metadata.namespace ?? '~'}/${obj.metadata.name}`;
}

export function describe(obj: KubeObject): string {
  return `${obj.kind}/${obj.metadata.name}`;
}

/** Parses a multi-document YAML file into Kubernetes objects, rejecting anything that is not one. */
export function parseResources(text: string, source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  parseAllDocuments(text).forEach((doc, index) => {
    if (doc.errors.length > 0) {
      throw new KustomizeError(
        `${source}: document ${index + 1} is not valid YAML: ${doc.errors[0]?.message}`,
      );
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return; // empty document (e.g. a trailing ---)
    if (isRecord(value) && value['kind'] === 'List' && Array.isArray(value['items'])) {
      value['items'].forEach((item, i) =>
        objects.push(asObject(item, `${source} (document ${index + 1}, item ${i})`)),
      );
      return;
    }
    objects.push(asObject(value, `${source} (document ${index + 1})`));
  });
  return objects;
}

function asObject(value: unknown, where: string): KubeObject {
  if (!isRecord(value))
    throw new KustomizeError(`${where}: expected a Kubernetes object (a YAML mapping)`);
  const { apiVersion, kind, metadata } = value;
  if (typeof apiVersion !== 'string' || !apiVersion)
    throw new KustomizeError(`${where}: missing apiVersion`);
  if (typeof kind !== 'string' || !kind) throw new KustomizeError(`${where}: missing kind`);
  if (!isRecord(metadata) || typeof metadata['name'] !== 'string' || !metadata['name']) {
    throw new KustomizeError(`${where}: ${kind} has no metadata.name`);
  }
  return value as KubeObject;
}

export function deepClone<T>(value: T): T {
  return structuredClone(value);
}
