import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { WORKSPACE_ROOT } from '../src/paths';

// Every app with src/main.ts must bundle with tools/scripts/build-app.mjs, and each bundle must
// load under plain Node (no tsx): what the image's build and runtime stages do. Loading runs
// module top levels (imports, externals, ES-module interop) without starting the services,
// since the entry points only start when run directly.
const BUILD_APP = path.join(WORKSPACE_ROOT, 'tools/scripts/build-app.mjs');
const apps = readdirSync(path.join(WORKSPACE_ROOT, 'apps')).filter((app) =>
  existsSync(path.join(WORKSPACE_ROOT, 'apps', app, 'src/main.ts')),
);

describe('build-app.mjs on the real apps', () => {
  jest.setTimeout(180_000);
  mkdirSync(path.join(WORKSPACE_ROOT, 'tmp'), { recursive: true });
  const outRoot = mkdtempSync(path.join(WORKSPACE_ROOT, 'tmp', 'bundles-'));
  afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

  it('finds the apps', () => {
    expect(apps).toEqual(
      expect.arrayContaining(['orchestrator', 'classifier', 'checkers', 'svc-proxy']),
    );
  });

  it.each(apps)('%s bundles, and every entry point loads under plain Node', (app) => {
    // The bundle sits where the image puts it relative to the workspace, so __dirname-relative
    // files and node_modules resolve as they will in the container.
    const out = path.join(outRoot, 'dist', 'apps', app);
    const log = execFileSync(process.execPath, [BUILD_APP, app, '--out', out], {
      cwd: WORKSPACE_ROOT,
      encoding: 'utf8',
    });
    const entries = readdirSync(out).filter((f) => f.endsWith('.js'));
    expect(entries).toContain('main.js');
    expect(log).toContain(`built ${app}:`);
    for (const entry of entries) {
      execFileSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(out, entry))})`], {
        cwd: WORKSPACE_ROOT,
        env: { ...process.env, LOG_LEVEL: 'silent' },
        stdio: 'pipe',
        timeout: 60_000,
      });
    }
  });
});
