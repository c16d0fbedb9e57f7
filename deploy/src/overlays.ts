import path from 'node:path';
import { renderKustomization, toYaml, type KubeObject } from './kustomize';
import { DEPLOY_DIR, OVERLAYS, OVERLAYS_DIR, WORKSPACE_ROOT } from './paths';
import { externalSecretsFrom, secretTemplates, validateRendered } from './validate';

export function renderOverlay(overlay: string): KubeObject[] {
  if (!(overlay in OVERLAYS))
    throw new Error(`unknown overlay "${overlay}": use one of ${Object.keys(OVERLAYS).join(', ')}`);
  return renderKustomization(path.join(OVERLAYS_DIR, overlay));
}

/** The file `kubectl apply -f` takes: a header saying where it came from, then the objects. */
export function renderedText(overlay: string): string {
  return (
    `# Rendered from deploy/overlays/${overlay} by \`npx nx run deploy:render\` (same result as\n` +
    `# \`kubectl kustomize deploy/overlays/${overlay}\`). Do not edit: change the overlay and re-render.\n` +
    toYaml(renderOverlay(overlay))
  );
}

export function validateOverlay(overlay: string): string[] {
  const external = OVERLAYS[overlay]?.externalSecrets
    ? externalSecretsFrom(secretTemplates(DEPLOY_DIR))
    : { secrets: new Map<string, ReadonlySet<string>>() };
  return validateRendered(renderOverlay(overlay), { workspaceRoot: WORKSPACE_ROOT, external });
}
