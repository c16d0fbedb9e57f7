import { applyPatch, type Operation } from 'fast-json-patch';
import { parseAllDocuments } from 'yaml';
import type { PatchEntry, Selector } from './kustomization';
import { describe, groupVersion, isRecord, KustomizeError, type KubeObject } from './resource';
import { strategicMerge } from './strategic-merge';

/** A patch file or inline patch is either a JSON 6902 operation list or strategic-merge objects. */
type ParsedPatch =
  | { readonly kind: 'json6902'; readonly operations: Operation[] }
  | { readonly kind: 'strategic'; readonly objects: Record<string, unknown>[] };

export function parsePatch(text: string, source: string): ParsedPatch {
  const docs = parseAllDocuments(text).map((doc, i) => {
    if (doc.errors.length > 0)
      throw new KustomizeError(`${source}: document ${i + 1}: ${doc.errors[0]?.message}`);
    return doc.toJS() as unknown;
  });
  const values = docs.filter((d) => d !== null && d !== undefined);
  if (values.length === 1 && Array.isArray(values[0])) {
    const operations = values[0] as unknown[];
    operations.forEach((op, i) => {
      if (!isRecord(op) || typeof op['op'] !== 'string' || typeof op['path'] !== 'string') {
        throw new KustomizeError(`${source}: operation ${i + 1} needs "op" and "path"`);
      }
    });
    return { kind: 'json6902', operations: operations as Operation[] };
  }
  for (const v of values) {
    if (!isRecord(v))
      throw new KustomizeError(
        `${source}: a strategic-merge patch must be a map (or a list of JSON 6902 operations)`,
      );
  }
  return { kind: 'strategic', objects: values as Record<string, unknown>[] };
}

function labelSelectorMatches(selector: string, labels: Record<string, string> = {}): boolean {
  return selector.split(',').every((term) => {
    const m = /^\s*([^=!\s]+)\s*==?\s*([^=!\s]*)\s*$/.exec(term);
    if (!m)
      throw new KustomizeError(
        `labelSelector "${selector}": only key=value terms are in the supported subset`,
      );
    return labels[m[1] as string] === m[2];
  });
}

export function selects(selector: Selector, obj: KubeObject): boolean {
  const { group, version } = groupVersion(obj.apiVersion);
  // kustomize treats group, version, kind, name and namespace as anchored regular expressions.
  const matches = (pattern: string | undefined, value: string) =>
    pattern === undefined || new RegExp(`^(?:${pattern})$`).test(value);
  return (
    matches(selector.group, group) &&
    matches(selector.version, version) &&
    matches(selector.kind, obj.kind) &&
    matches(selector.name, obj.metadata.name) &&
    matches(selector.namespace, obj.metadata.namespace ?? '') &&
    (selector.labelSelector === undefined ||
      labelSelectorMatches(selector.labelSelector, obj.metadata.labels))
  );
}

function applyJson6902(obj: KubeObject, operations: Operation[], source: string): KubeObject {
  try {
    return applyPatch(obj, structuredClone(operations), true, false).newDocument;
  } catch (error) {
    throw new KustomizeError(
      `${source}: cannot apply to ${describe(obj)}: ${(error as Error).message.split('\n')[0]}`,
    );
  }
}

/** Strips identity fields so a targeted strategic-merge patch cannot rename what it patches. */
function withoutIdentity(patch: Record<string, unknown>): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, metadata, ...rest } = patch;
  if (!isRecord(metadata)) return rest;
  const { name: _n, namespace: _ns, ...meta } = metadata;
  return Object.keys(meta).length > 0 ? { ...rest, metadata: meta } : rest;
}

export function applyPatchEntry(
  objects: KubeObject[],
  entry: PatchEntry,
  text: string,
  source: string,
): KubeObject[] {
  const parsed = parsePatch(text, source);
  if (parsed.kind === 'json6902') {
    if (!entry.target) throw new KustomizeError(`${source}: a JSON 6902 patch needs a "target"`);
    const target = entry.target;
    return objects.map((o) =>
      selects(target, o) ? applyJson6902(o, parsed.operations, source) : o,
    );
  }
  let result = objects;
  for (const patch of parsed.objects) {
    if (entry.target) {
      const target = entry.target;
      const body = withoutIdentity(patch);
      result = result.map((o) => (selects(target, o) ? strategicMerge(o, body) : o));
      continue;
    }
    // Untargeted: the patch names its object by apiVersion group, kind, name (and namespace).
    const meta = isRecord(patch['metadata']) ? patch['metadata'] : {};
    const kind = patch['kind'];
    const name = meta['name'];
    if (
      typeof kind !== 'string' ||
      typeof name !== 'string' ||
      typeof patch['apiVersion'] !== 'string'
    ) {
      throw new KustomizeError(
        `${source}: an untargeted strategic-merge patch needs apiVersion, kind and metadata.name`,
      );
    }
    const group = groupVersion(patch['apiVersion']).group;
    const ns = typeof meta['namespace'] === 'string' ? meta['namespace'] : undefined;
    const hits = result.filter(
      (o) =>
        o.kind === kind &&
        o.metadata.name === name &&
        groupVersion(o.apiVersion).group === group &&
        (ns === undefined || (o.metadata.namespace ?? '') === ns),
    );
    if (hits.length !== 1) {
      throw new KustomizeError(
        `${source}: ${hits.length === 0 ? 'no' : 'more than one'} ${kind} named "${name}" for this strategic-merge patch`,
      );
    }
    result = result.map((o) => (o === hits[0] ? strategicMerge(o, patch) : o));
  }
  return result;
}
