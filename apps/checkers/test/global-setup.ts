import { resolve } from 'node:path';
import { ensureBundles } from '../src/bundles';

/** Builds the web and engine-thread bundles once, before any test file starts a server. */
export default async function globalSetup(): Promise<void> {
  await ensureBundles(resolve(__dirname, '..', 'dist'));
}
