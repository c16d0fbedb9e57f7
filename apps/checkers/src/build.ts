import { loadConfig } from './config';
import { ensureBundles } from './bundles';

/**
 * `npx nx run checkers:build`: rebuilds every bundle into BUNDLE_DIR (default apps/checkers/dist):
 * the web app, the engine thread script, and the server and engine worker entry points.
 */
async function build(): Promise<void> {
  const { bundleDir } = loadConfig();
  const report = await ensureBundles(bundleDir, { force: true, entryPoints: true });
  console.log(`built ${report.built.join(', ')} into ${bundleDir}`);
}

void build().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
