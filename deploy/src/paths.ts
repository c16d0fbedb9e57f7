import path from 'node:path';

/** deploy/, found from this file so the CLI and tests work from any working directory. */
export const DEPLOY_DIR = path.resolve(__dirname, '..');
export const WORKSPACE_ROOT = path.resolve(DEPLOY_DIR, '..');
export const OVERLAYS_DIR = path.join(DEPLOY_DIR, 'overlays');
export const RENDERED_DIR = path.join(DEPLOY_DIR, 'rendered');

/** Overlays whose Secrets are created out of band (templates in deploy/secrets). */
export const OVERLAYS: Readonly<Record<string, { readonly externalSecrets: boolean }>> = {
  dev: { externalSecrets: false },
  prod: { externalSecrets: true },
  gpu: { externalSecrets: true },
  keda: { externalSecrets: true },
};

export const renderedFile = (overlay: string) => path.join(RENDERED_DIR, `${overlay}.yaml`);
