/* eslint-disable @typescript-eslint/no-explicit-any -- tests reach deep into manifest trees */
import {
  parseImage,
  renderKustomization,
  rewriteImage,
  strategicMerge,
  type KubeObject,
} from '../src/kustomize';
import { OVERLAY_FIXTURE } from './fixtures';
import { deployment, writeTree } from './helpers';

// Expected results below are what `kubectl kustomize` (kustomize v5.5) produced for the same
// inputs; kubectl-parity.spec.ts re-checks them against kubectl when it is installed.

const find = (objects: KubeObject[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not rendered`);
  return o as KubeObject & { spec: any };
};

describe('strategic merge', () => {
  const base = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd' },
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: 'c1',
              image: 'x',
              env: [
                { name: 'A', value: '1' },
                { name: 'E', value: 'old' },
                { name: 'B', value: '2' },
              ],
              args: ['a', 'b'],
            },
            { name: 'c2', image: 'y' },
          ],
          tolerations: [{ key: 'k1' }],
          nodeSelector: { zone: 'a', disk: 'ssd' },
        },
      },
    },
  } as unknown as KubeObject;

  it('merges keyed lists element-wise: patch elements first, in patch order, then the rest', () => {
    const out = strategicMerge(base, {
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'c3', image: 'z' },
              {
                name: 'c1',
                env: [
                  { name: 'N1', value: 'n1' },
                  { name: 'E', value: 'new' },
                ],
                args: ['c'],
              },
            ],
          },
        },
      },
    }) as any;
    const containers = out.spec.template.spec.containers;
    expect(containers.map((c: any) => c.name)).toEqual(['c3', 'c1', 'c2']);
    expect(containers[1].env).toEqual([
      { name: 'N1', value: 'n1' },
      { name: 'E', value: 'new' },
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
    expect(containers[1].image).toBe('x'); // untouched fields survive
    expect(containers[1].args).toEqual(['c']); // lists without a merge key are replaced
  });

  it('replaces lists without a merge key, deletes keys set to null, and leaves the input alone', () => {
    const out = strategicMerge(base, {
      spec: {
        template: {
          spec: { tolerations: [{ key: 'k2' }], nodeSelector: { zone: null, gpu: 'yes' } },
        },
      },
    }) as any;
    expect(out.spec.template.spec.tolerations).toEqual([{ key: 'k2' }]);
    expect(out.spec.template.spec.nodeSelector).toEqual({ disk: 'ssd', gpu: 'yes' });
    expect((base as any).spec.template.spec.nodeSelector).toEqual({ zone: 'a', disk: 'ssd' });
  });

  it('rejects $patch directives instead of misapplying them', () => {
    expect(() =>
      strategicMerge(base, {
        spec: { template: { spec: { containers: [{ name: 'c1', $patch: 'delete' }] } } },
      }),
    ).toThrow(/"\$patch" is outside the supported kustomize subset/);
  });
});

describe('images', () => {
  it.each([
    ['x:1.0', { name: 'x', digest: 'sha256:abc' }, 'x@sha256:abc'],
    ['x', { name: 'x', newTag: '2', digest: 'sha256:abc' }, 'x:2@sha256:abc'],
    ['y', { name: 'y', newName: 'reg/y' }, 'reg/y'],
    ['z:1@sha256:old', { name: 'z', newTag: '3' }, 'z:3'],
    [
      'conveyor/app:0.1.0',
      { name: 'conveyor/app', newName: 'reg.example.com:5000/conveyor/app' },
      'reg.example.com:5000/conveyor/app:0.1.0',
    ],
  ])('%s with %j → %s', (image, entry, expected) => {
    expect(rewriteImage(image, entry)).toBe(expected);
  });

  it('parses registry ports apart from tags', () => {
    expect(parseImage('reg:5000/z')).toEqual({ name: 'reg:5000/z' });
    expect(parseImage('reg:5000/z:7@sha256:x')).toEqual({
      name: 'reg:5000/z',
      tag: '7',
      digest: 'sha256:x',
    });
  });
});

describe('renderKustomization', () => {
  it('applies a base, generators, patches, namespace, labels, replicas and images in kustomize order', () => {
    const tree = writeTree(OVERLAY_FIXTURE);
    try {
      const objects = renderKustomization(`${tree.dir}/overlay`);
      expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
        'ServiceAccount/api',
        'RoleBinding/api',
        'ConfigMap/settings',
        'Deployment/api',
      ]);
      const api = find(objects, 'Deployment', 'api');
      expect(api.metadata.namespace).toBe('prod');
      expect(api.metadata.labels).toEqual({ team: 'ml', env: 'prod' });
      expect(api.metadata.annotations).toEqual({ note: 'patched' });
      // base labels reach the pod template (includeTemplates), overlay labels do not
      expect(api.spec.template.metadata.labels).toEqual({ app: 'api', team: 'ml' });
      // replicas runs after patches: 3, not the patch's 1
      expect(api.spec.replicas).toBe(3);
      const main = api.spec.template.spec.containers[0];
      expect(main.image).toBe('reg/api:2.0');
      expect(main.env.map((e: { name: string; value: string }) => `${e.name}=${e.value}`)).toEqual([
        'E=new',
        'A=1',
        'B=2',
      ]);
      expect(find(objects, 'ConfigMap', 'settings')['data']).toEqual({
        'settings.yaml': 'retries: 3\n',
        MODE: 'fast',
      });
      // subjects follow the ServiceAccounts of this build only
      expect(find(objects, 'RoleBinding', 'api')['subjects']).toEqual([
        { kind: 'ServiceAccount', name: 'api', namespace: 'prod' },
        { kind: 'ServiceAccount', name: 'other', namespace: 'elsewhere' },
        { kind: 'ServiceAccount', name: 'unknown' },
      ]);
    } finally {
      tree.cleanup();
    }
  });

  it.each([
    [
      'an unsupported field',
      { 'kustomization.yaml': 'resources: []\nnamePrefix: x-\n' },
      /"namePrefix" is outside the kustomize subset/,
    ],
    [
      'commonLabels',
      { 'kustomization.yaml': 'commonLabels: {a: b}\n' },
      /"commonLabels" is outside the kustomize subset/,
    ],
    [
      'selector labels',
      { 'kustomization.yaml': 'labels: [{pairs: {a: b}, includeSelectors: true}]\n' },
      /includeSelectors: true is outside the supported subset/,
    ],
    [
      'a hashed generator',
      { 'kustomization.yaml': 'configMapGenerator: [{name: c, literals: [a=b]}]\n' },
      /set generatorOptions.disableNameSuffixHash: true/,
    ],
    [
      'a file outside the directory',
      { 'kustomization.yaml': 'resources: [../outside.yaml]\n', '../outside.yaml': '' },
      /outside the kustomization directory/,
    ],
    [
      'a missing resource',
      { 'kustomization.yaml': 'resources: [nope.yaml]\n' },
      /resource "nope.yaml" does not exist/,
    ],
    [
      'a repeated resource',
      {
        'kustomization.yaml': 'resources: [a.yaml, b.yaml]\n',
        'a.yaml': deployment('x'),
        'b.yaml': deployment('x'),
      },
      /Deployment\/x is already defined/,
    ],
    [
      'a patch for nothing',
      {
        'kustomization.yaml': 'resources: [a.yaml]\npatches: [{path: p.yaml}]\n',
        'a.yaml': deployment('x'),
        'p.yaml':
          'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: nope}\nspec: {replicas: 2}\n',
      },
      /no Deployment named "nope"/,
    ],
    [
      'JSON 6902 without target',
      {
        'kustomization.yaml':
          'resources: [a.yaml]\npatches: [{patch: "- {op: remove, path: /spec}"}]\n',
        'a.yaml': deployment('x'),
      },
      /a JSON 6902 patch needs a "target"/,
    ],
    [
      'a failing JSON 6902 op',
      {
        'kustomization.yaml':
          'resources: [a.yaml]\npatches: [{target: {kind: Deployment}, patch: "- {op: replace, path: /spec/nothing/here, value: 1}"}]\n',
        'a.yaml': deployment('x'),
      },
      /cannot apply to Deployment\/x/,
    ],
    [
      'replicas for nothing',
      {
        'kustomization.yaml': 'resources: [a.yaml]\nreplicas: [{name: nope, count: 2}]\n',
        'a.yaml': deployment('x'),
      },
      /replicas: no Deployment\/StatefulSet\/ReplicaSet\/ReplicationController named "nope"/,
    ],
    [
      'a remote base',
      { 'kustomization.yaml': 'resources: [https://github.com/x/y]\n' },
      /remote resource .* is outside the supported subset/,
    ],
    [
      'a non-object document',
      { 'kustomization.yaml': 'resources: [a.yaml]\n', 'a.yaml': '- 1\n' },
      /expected a Kubernetes object/,
    ],
  ])('refuses %s with an error saying why', (_what, files, message) => {
    const nested = Object.fromEntries(
      Object.entries(files).map(([k, v]) => [k.startsWith('../') ? k.slice(3) : `k/${k}`, v]),
    );
    const tree = writeTree(nested);
    try {
      expect(() => renderKustomization(`${tree.dir}/k`)).toThrow(message);
    } finally {
      tree.cleanup();
    }
  });
});
