export { renderKustomization, toYaml } from './render';
export { KustomizeError, type KubeObject, parseResources, resourceId, describe } from './resource';
export { strategicMerge, mergeKeyFor } from './strategic-merge';
export { parseImage, rewriteImage } from './transformers';
export { loadKustomization, KustomizationSchema } from './kustomization';
