import { KubeConfig } from '@kubernetes/client-node';
import type { KubeSource } from '../config';

export function loadKubeConfig(source: KubeSource): KubeConfig {
  const kc = new KubeConfig();
  switch (source.kind) {
    case 'in-cluster':
      kc.loadFromCluster();
      break;
    case 'kubeconfig':
      try {
        kc.loadFromFile(source.path);
      } catch (error) {
        throw new Error(`cannot load KUBECONFIG ${source.path}: ${(error as Error).message}`);
      }
      if (source.context) kc.setCurrentContext(source.context);
      break;
    case 'default':
      kc.loadFromDefault();
      break;
  }
  if (!kc.getCurrentCluster()) {
    throw new Error(
      `no Kubernetes cluster found (${source.kind}): set KUBE_SOURCE and KUBECONFIG, or run in a pod`,
    );
  }
  return kc;
}
