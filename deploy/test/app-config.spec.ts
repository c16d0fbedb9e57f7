import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KubeObject } from '../src/kustomize';
import { renderOverlay } from '../src/overlays';
import { DEPLOY_DIR, WORKSPACE_ROOT } from '../src/paths';
import { containerEnv, conveyorApp, secretTemplates, workloadsOf } from '../src/validate';
import { runLoader } from './support/run-app-config';

// The environment every Conveyor container gets in the dev overlay (ConfigMaps, the template
// Secrets, the downward API) goes through the app's own config loader, so a variable the app
// rejects, renames or requires fails here rather than in a crash-looping pod.

/** Which exported loader each bundle's entry point calls (see the apps' src/main.ts etc.). */
const LOADERS: Record<string, { module: string; exportName: string }> = {
  'orchestrator/main.js': {
    module: 'apps/orchestrator/src/config.ts',
    exportName: 'configFromEnv',
  },
  'classifier/main.js': { module: 'apps/classifier/src/config.ts', exportName: 'loadConfig' },
  'classifier/worker.js': { module: 'apps/classifier/src/config.ts', exportName: 'loadConfig' },
  'checkers/main.js': { module: 'apps/checkers/src/config.ts', exportName: 'loadConfig' },
  'checkers/engine-worker.js': {
    module: 'apps/checkers/src/config.ts',
    exportName: 'loadWorkerConfig',
  },
  'svc-proxy/main.js': { module: 'apps/svc-proxy/src/config.ts', exportName: 'parseConfig' },
};

// Secrets: the dev overlay's own; prod gets the templates operators fill in (same names and keys).
const secretIn = (source: readonly KubeObject[]) => (name: string, key: string) => {
  const found = source.find((o) => o.kind === 'Secret' && o.metadata.name === name);
  return (found?.['stringData'] as Record<string, string> | undefined)?.[key];
};

const objects = renderOverlay('dev');
const casesOf = (overlay: string) => {
  const rendered = renderOverlay(overlay);
  const secret = secretIn(overlay === 'dev' ? rendered : secretTemplates(DEPLOY_DIR));
  return workloadsOf(rendered).flatMap((w) =>
    w.podSpec.containers
      .filter((c) => conveyorApp(c.image))
      .map((c) => {
        const app = conveyorApp(c.image) as string;
        const script =
          [...(c.command ?? []), ...(c.args ?? [])].find((a) => a.endsWith('.js')) ??
          `dist/apps/${app}/main.js`;
        const entry = script.replace(/^dist\/apps\//, '');
        const resolved = containerEnv(c, rendered, secret, w.object.metadata.namespace);
        const env = Object.fromEntries(
          Object.entries(resolved).filter((kv): kv is [string, string] => kv[1] !== undefined),
        );
        return { name: `${overlay}: ${w.object.metadata.name} (${entry})`, entry, env };
      }),
  );
};
const cases = [...casesOf('dev'), ...casesOf('prod')];

describe('apps accept the environment the manifests give them', () => {
  jest.setTimeout(120_000);

  it('covers every Conveyor container of the overlay', () => {
    expect([...new Set(cases.map((c) => c.entry))].sort()).toEqual(Object.keys(LOADERS).sort());
  });

  it.each(cases)('$name', ({ entry, env }) => {
    const loader = LOADERS[entry];
    if (!loader) throw new Error(`no loader known for ${entry}: add it to LOADERS`);
    expect(existsSync(path.join(WORKSPACE_ROOT, loader.module))).toBe(true);
    const outcome = runLoader(loader.module, loader.exportName, env);
    expect(outcome).toMatchObject({ ok: true });
    // The apps agree on the port and interface the manifests probe and route to.
    const result = outcome.result as Record<string, unknown>;
    expect(result['port'] ?? result['PORT']).toBe(8080);
    expect(result['host'] ?? result['HOST']).toBe('0.0.0.0');
  });

  it('reports what an app rejects (the check can fail)', () => {
    const orchestrator = cases.find(
      (c) => c.entry === 'orchestrator/main.js',
    ) as (typeof cases)[number];
    const outcome = runLoader('apps/orchestrator/src/config.ts', 'configFromEnv', {
      ...orchestrator.env,
      DATABASE_URL: 'mysql://db/x',
    });
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/DATABASE_URL/);
  });

  it('the workflow ConfigMap loads in the orchestrator without problems', () => {
    const cm = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'orchestrator-workflows',
    ) as KubeObject;
    const dir = mkdtempSync(path.join(tmpdir(), 'conveyor-workflows-'));
    try {
      for (const [file, text] of Object.entries(cm['data'] as Record<string, string>))
        writeFileSync(path.join(dir, file), text);
      const outcome = runLoader(
        'apps/orchestrator/src/definitions/loader.ts',
        'loadWorkflowDir',
        dir as unknown as Record<string, string>,
      );
      expect(outcome).toMatchObject({ ok: true, result: { problems: [] } });
      expect((outcome.result?.['definitions'] as { name: string }[]).map((d) => d.name)).toEqual([
        'classify-questions',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
