import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDockerfile, splitImage, type Stage } from '../src/images/dockerfile';
import { WORKSPACE_ROOT } from '../src/paths';

const APPS = ['orchestrator', 'classifier', 'checkers', 'svc-proxy'];
const lock = JSON.parse(readFileSync(path.join(WORKSPACE_ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version: string }>;
};

const runs = (stage: Stage, pattern: RegExp) =>
  stage.instructions.some((i) => i.keyword === 'RUN' && pattern.test(i.args));
const last = <T>(items: readonly T[]): T => items[items.length - 1] as T;

describe.each(APPS)('apps/%s/Dockerfile', (app) => {
  const file = path.join(WORKSPACE_ROOT, 'apps', app, 'Dockerfile');
  const dockerfile = parseDockerfile(file);
  const stageNames = dockerfile.stages.map((s) => s.name).filter(Boolean) as string[];
  // Stages a user can end up running: the default (last) one and any with its own CMD.
  const runnable = dockerfile.stages.filter(
    (s, i) => i === dockerfile.stages.length - 1 || s.instructions.some((x) => x.keyword === 'CMD'),
  );

  it('pins every base image to a version tag (never latest, never a bare major)', () => {
    for (const stage of dockerfile.stages) {
      if (stageNames.includes(stage.base)) continue; // FROM an earlier stage
      const image = splitImage(stage.base);
      expect(image.tag ?? image.digest).toBeDefined();
      expect(image.tag).not.toMatch(/^latest$|\$\{/);
      // node:20.20.2-..., nvidia/cuda:11.8.0-...: a full version, not a moving "20" or "20-slim".
      if (!image.digest) expect(image.tag).toMatch(/^\d+\.\d+\.\d+/);
    }
  });

  it('bundles with tools/scripts/build-app.mjs in a build stage', () => {
    expect(
      dockerfile.stages.some((s) =>
        runs(s, new RegExp(`node tools/scripts/build-app\\.mjs ${app}(\\s|$)`)),
      ),
    ).toBe(true);
  });

  it('installs run-time dependencies from the pruned lockfile, production only', () => {
    const deps = dockerfile.stages.find((s) => s.name === 'deps');
    expect(deps).toBeDefined();
    expect(runs(deps as Stage, /npm ci --omit=dev/)).toBe(true);
    expect(
      (deps as Stage).instructions.some(
        // The build stage works in /app like the runtime stage (paths a bundle keeps from build
        // time, such as the checkers engine thread's native packages, hold at run time), or /src.
        (i) =>
          i.keyword === 'COPY' &&
          new RegExp(`/(src|app)/dist/apps/${app}/package-lock\\.json`).test(i.args),
      ),
    ).toBe(true);
  });

  it('runs as a numeric non-root user in every runnable stage, with nothing but node and the bundle', () => {
    for (const stage of runnable) {
      const users = stage.instructions.filter((i) => i.keyword === 'USER').map((i) => i.args);
      expect(users.length).toBeGreaterThan(0);
      const [uid] = last(users).split(':');
      expect(uid).toMatch(/^\d+$/);
      expect(Number(uid)).toBeGreaterThan(0);
      expect(stage.instructions.some((i) => i.keyword === 'RUN')).toBe(false);
    }
  });

  it('defaults to node:20 slim serving dist/apps/<app>/main.js on 8080', () => {
    const runtime = last(dockerfile.stages);
    expect(splitImage(runtime.base)).toMatchObject({
      name: 'node',
      tag: expect.stringMatching(/^20\.\d+\.\d+-bookworm-slim$/),
    });
    const cmd = last(runtime.instructions.filter((i) => i.keyword === 'CMD'));
    expect(JSON.parse(cmd.args)).toEqual([
      'node',
      '--enable-source-maps',
      `dist/apps/${app}/main.js`,
    ]);
    const env = runtime.instructions
      .filter((i) => i.keyword === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toMatch(/PORT=8080/);
    expect(env).toMatch(/HOST=0\.0\.0\.0/);
    expect(env).toMatch(/NODE_ENV=production/);
    expect(runtime.instructions.some((i) => i.keyword === 'EXPOSE' && i.args === '8080')).toBe(
      true,
    );
  });

  it('copies only files that exist in the repository, and stages that exist', () => {
    for (const [index, stage] of dockerfile.stages.entries()) {
      const earlier = dockerfile.stages.slice(0, index).map((s) => s.name);
      for (const copy of stage.instructions.filter(
        (i) => i.keyword === 'COPY' || i.keyword === 'ADD',
      )) {
        expect(copy.keyword).toBe('COPY'); // ADD can fetch URLs and unpack archives: never needed here
        const from = copy.flags['from'];
        if (from !== undefined) {
          expect(earlier).toContain(from);
          continue;
        }
        const sources = copy.args.split(/\s+/).slice(0, -1);
        for (const source of sources) {
          expect({ source, exists: existsSync(path.join(WORKSPACE_ROOT, source)) }).toEqual({
            source,
            exists: true,
          });
        }
      }
    }
  });

  it('has a build-context ignore file that keeps node_modules, .git and the other apps out', () => {
    const ignore = readFileSync(
      path.join(WORKSPACE_ROOT, 'apps', app, 'Dockerfile.dockerignore'),
      'utf8',
    ).split('\n');
    expect(ignore).toEqual(expect.arrayContaining(['.git', '**/node_modules', '**/dist']));
    for (const other of APPS.filter((a) => a !== app)) expect(ignore).toContain(`apps/${other}`);
    expect(ignore).not.toContain(`apps/${app}`);
  });
});

describe('the GPU classifier image', () => {
  const dockerfile = parseDockerfile(path.join(WORKSPACE_ROOT, 'apps/classifier/Dockerfile'));
  const gpu = dockerfile.stages.find((s) => s.name === 'gpu') as Stage;

  it('is a CUDA runtime image running the worker with the tfjs-node-gpu backend', () => {
    expect(splitImage(gpu.base)).toMatchObject({
      name: 'nvidia/cuda',
      tag: expect.stringMatching(/^11\.\d+\.\d+-cudnn8-runtime-/),
    });
    const env = gpu.instructions
      .filter((i) => i.keyword === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toMatch(/TFJS_BACKEND=tfjs-node-gpu/);
    expect(JSON.parse(last(gpu.instructions.filter((i) => i.keyword === 'CMD')).args)).toEqual([
      'node',
      '--enable-source-maps',
      'dist/apps/classifier/worker.js',
    ]);
  });

  it('adds @tensorflow/tfjs-node-gpu at the tfjs-core version of the lockfile', () => {
    const depsGpu = dockerfile.stages.find((s) => s.name === 'deps-gpu') as Stage;
    const version = depsGpu.instructions
      .find((i) => i.keyword === 'ARG' && i.args.startsWith('TFJS_VERSION='))
      ?.args.split('=')[1];
    expect(version).toBe(lock.packages['node_modules/@tensorflow/tfjs-core']?.version);
    expect(
      runs(
        depsGpu,
        /npm install --no-save --omit=dev @tensorflow\/tfjs-node-gpu@\$\{TFJS_VERSION\}/,
      ),
    ).toBe(true);
  });
});

describe('root .dockerignore', () => {
  it('keeps dependencies, VCS data and build output out of the context', () => {
    const ignore = readFileSync(path.join(WORKSPACE_ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignore).toEqual(expect.arrayContaining(['.git', '**/node_modules', '**/dist', '.env']));
  });
});
