import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { renderKustomization } from '../src/kustomize';
import { OVERLAYS, OVERLAYS_DIR } from '../src/paths';
import { OVERLAY_FIXTURE } from './fixtures';
import { kubectlKustomize, writeTree } from './helpers';

// The offline renderer must give what `kubectl apply -k` applies. Where kubectl is installed
// (it is on the development machines; CI may lack it), compare object by object, in order.
const kubectl = kubectlKustomize();
const describeWithKubectl = kubectl ? describe : describe.skip;

function expectSameAsKubectl(dir: string) {
  const ours = JSON.parse(JSON.stringify(renderKustomization(dir))) as unknown[];
  const theirs = parseAllDocuments((kubectl as (d: string) => string)(dir)).map(
    (d) => d.toJS() as unknown,
  );
  const ids = (list: unknown[]) =>
    list.map(
      (o) =>
        `${(o as { kind: string }).kind}/${(o as { metadata: { name: string } }).metadata.name}`,
    );
  expect(ids(ours)).toEqual(ids(theirs));
  theirs.forEach((expected, i) => {
    if (!isDeepStrictEqual(ours[i], expected)) expect(ours[i]).toEqual(expected); // shows the diff
  });
}

describeWithKubectl('same output as kubectl kustomize', () => {
  jest.setTimeout(60_000);

  it.each(Object.keys(OVERLAYS))('deploy/overlays/%s', (overlay) => {
    expectSameAsKubectl(path.join(OVERLAYS_DIR, overlay));
  });

  it('the feature fixture (generators, patches, namespace, labels, replicas, images)', () => {
    const tree = writeTree(OVERLAY_FIXTURE);
    try {
      expectSameAsKubectl(path.join(tree.dir, 'overlay'));
    } finally {
      tree.cleanup();
    }
  });
});
