import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import {
  findKustomizationFile,
  loadKustomization,
  type ConfigMapGeneratorEntry,
  type Kustomization,
} from './kustomization';
import { legacyCompare } from './order';
import { applyPatchEntry } from './patches';
import { describe, KustomizeError, parseResources, resourceId, type KubeObject } from './resource';
import { addLabels, setImages, setNamespace, setReplicas } from './transformers';

/**
 * Renders a kustomization directory the way `kubectl kustomize` (kustomize v5) does, for the
 * subset of features kustomization.ts accepts: resources (files and kustomization directories),
 * configMapGenerator without name hashes, then — in kustomize's order — patches, namespace,
 * labels, replicas and images; output in kustomize's legacy order.
 */
export function renderKustomization(dir: string): KubeObject[] {
  return build(path.resolve(dir), []).sort(legacyCompare);
}

export function toYaml(objects: readonly KubeObject[]): string {
  return objects
    .map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false }))
    .join('---\n');
}

/** kustomize's load restriction: files a kustomization reads must be inside its directory. */
function fileInside(dir: string, relative: string, what: string): string {
  const file = path.resolve(dir, relative);
  if (file !== dir && !file.startsWith(dir + path.sep)) {
    throw new KustomizeError(
      `${dir}: ${what} "${relative}" is outside the kustomization directory (kustomize refuses it); move it in or make it a resource directory`,
    );
  }
  if (!existsSync(file)) throw new KustomizeError(`${dir}: ${what} "${relative}" does not exist`);
  return file;
}

function build(dir: string, stack: readonly string[]): KubeObject[] {
  if (stack.includes(dir)) throw new KustomizeError(`cycle: ${[...stack, dir].join(' -> ')}`);
  const k = loadKustomization(dir);
  let objects: KubeObject[] = [];
  const add = (incoming: KubeObject[], from: string) => {
    for (const obj of incoming) {
      const id = resourceId(obj);
      if (objects.some((o) => resourceId(o) === id)) {
        throw new KustomizeError(
          `${from}: ${describe(obj)} is already defined (resources may not repeat)`,
        );
      }
      objects.push(obj);
    }
  };
  for (const entry of k.resources ?? []) {
    if (/^[a-z]+:\/\//.test(entry) || entry.startsWith('git@')) {
      throw new KustomizeError(
        `${dir}: remote resource "${entry}" is outside the supported subset (offline rendering)`,
      );
    }
    const target = path.resolve(dir, entry);
    if (!existsSync(target)) throw new KustomizeError(`${dir}: resource "${entry}" does not exist`);
    if (statSync(target).isDirectory()) {
      if (!findKustomizationFile(target))
        throw new KustomizeError(`${dir}: resource directory "${entry}" has no kustomization.yaml`);
      add(build(target, [...stack, dir]), target);
    } else {
      const file = fileInside(dir, entry, 'resource');
      add(parseResources(readFileSync(file, 'utf8'), file), file);
    }
  }
  add(generateConfigMaps(dir, k), path.join(dir, 'kustomization.yaml'));
  objects = transform(dir, k, objects);
  return objects;
}

function generateConfigMaps(dir: string, k: Kustomization): KubeObject[] {
  return (k.configMapGenerator ?? []).map((gen: ConfigMapGeneratorEntry) => {
    if (!(gen.options?.disableNameSuffixHash ?? k.generatorOptions?.disableNameSuffixHash)) {
      throw new KustomizeError(
        `${dir}: configMapGenerator "${gen.name}" would get a content-hash name suffix, which is outside the supported subset: set generatorOptions.disableNameSuffixHash: true`,
      );
    }
    const data: Record<string, string> = {};
    for (const spec of gen.files ?? []) {
      const eq = spec.indexOf('=');
      const key = eq === -1 ? path.basename(spec) : spec.slice(0, eq);
      const file = fileInside(
        dir,
        eq === -1 ? spec : spec.slice(eq + 1),
        'configMapGenerator file',
      );
      if (key in data)
        throw new KustomizeError(`${dir}: configMapGenerator "${gen.name}" has key "${key}" twice`);
      data[key] = readFileSync(file, 'utf8');
    }
    for (const literal of gen.literals ?? []) {
      const eq = literal.indexOf('=');
      if (eq <= 0)
        throw new KustomizeError(
          `${dir}: configMapGenerator "${gen.name}" literal "${literal}" is not key=value`,
        );
      data[literal.slice(0, eq)] = literal.slice(eq + 1);
    }
    const labels = gen.options?.labels;
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: gen.name, ...(labels ? { labels: { ...labels } } : {}) },
      data,
    };
  });
}

function transform(dir: string, k: Kustomization, input: KubeObject[]): KubeObject[] {
  let objects = input;
  for (const [i, entry] of (k.patches ?? []).entries()) {
    const source = entry.path
      ? fileInside(dir, entry.path, 'patch')
      : `${dir}/kustomization.yaml patches[${i}]`;
    const text = entry.path ? readFileSync(source, 'utf8') : (entry.patch as string);
    objects = applyPatchEntry(objects, entry, text, source);
  }
  if (k.namespace) setNamespace(objects, k.namespace);
  for (const label of k.labels ?? [])
    addLabels(objects, label.pairs, label.includeTemplates ?? false);
  if (k.replicas) setReplicas(objects, k.replicas);
  if (k.images) setImages(objects, k.images);
  return objects;
}
