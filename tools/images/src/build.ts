import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { WORKSPACE_ROOT } from './manifests';
import { imageSize, podmanNiced, ulimitArgs } from './podman';

const execFileAsync = promisify(execFile);

export const APPS = ['orchestrator', 'classifier', 'checkers', 'svc-proxy'] as const;
export type App = (typeof APPS)[number];

export interface BuiltImage {
  readonly app: App;
  readonly image: string;
  readonly seconds: number;
  readonly bytes: number;
}

/** The Node version the Dockerfiles' base images carry (`ARG NODE_VERSION=`), the same in all. */
export function dockerfileNodeVersion(): string {
  const versions = new Set(
    APPS.map((app) => {
      const text = readFileSync(path.join(WORKSPACE_ROOT, 'apps', app, 'Dockerfile'), 'utf8');
      const m = /^ARG NODE_VERSION=(\S+)$/m.exec(text);
      if (!m?.[1]) throw new Error(`apps/${app}/Dockerfile has no ARG NODE_VERSION=`);
      return m[1];
    }),
  );
  if (versions.size !== 1)
    throw new Error(`the Dockerfiles disagree on NODE_VERSION: ${[...versions].join(', ')}`);
  return [...versions][0] as string;
}

/** Stand-in `node:<version>-bookworm(-slim)` images (scripts/base-images.sh); reused when present. */
export async function buildBaseImages(log: (line: string) => void): Promise<number> {
  const started = Date.now();
  const script = path.join(WORKSPACE_ROOT, 'tools/images/scripts/base-images.sh');
  try {
    const { stdout } = await execFileAsync(script, [dockerfileNodeVersion()], {
      cwd: WORKSPACE_ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
    for (const line of stdout.split('\n').filter(Boolean)) log(line);
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`stand-in base images: ${(e.stderr || e.stdout || e.message).trim()}`);
  }
  return (Date.now() - started) / 1000;
}

/**
 * Builds one app's image from its unchanged Dockerfile, from the repository root, with the
 * Dockerfile's own ignore file (what BuildKit uses), at low CPU priority; the full log goes to
 * `logDir/<app>.build.log`, and a failure reports its last lines.
 */
export async function buildAppImage(
  app: App,
  image: string,
  logDir: string,
  log: (line: string) => void,
): Promise<BuiltImage> {
  mkdirSync(logDir, { recursive: true });
  const started = Date.now();
  const lines: string[] = [];
  const { code, tail } = await podmanNiced(
    [
      'build',
      '--pull=never',
      // The default target only: the classifier's `gpu` stage starts from a CUDA image that
      // cannot be pulled here (it stays statically checked).
      '--skip-unused-stages=true',
      '--network',
      'host',
      ...ulimitArgs(),
      '-f',
      `apps/${app}/Dockerfile`,
      '--ignorefile',
      `apps/${app}/Dockerfile.dockerignore`,
      '-t',
      image,
      WORKSPACE_ROOT,
    ],
    (line) => {
      lines.push(line);
      if (/^\[\d+\/\d+\] STEP|^STEP /.test(line)) log(`  ${app}: ${line.slice(0, 110)}`);
    },
  );
  const file = path.join(logDir, `${app}.build.log`);
  writeFileSync(file, lines.join('\n') + '\n');
  if (code !== 0)
    throw new Error(
      `building ${image} failed (exit ${code}; full log ${file}):\n${tail.join('\n')}`,
    );
  return { app, image, seconds: (Date.now() - started) / 1000, bytes: await imageSize(image) };
}

export function formatBuildReport(base: number, built: readonly BuiltImage[]): string {
  const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
  return [
    `stand-in base images: ${base.toFixed(0)} s`,
    ...built.map(
      (b) =>
        `${b.app.padEnd(13)} ${b.image.padEnd(46)} ${mb(b.bytes).padStart(7)}  ${b.seconds.toFixed(0)} s`,
    ),
    `total ${(base + built.reduce((s, b) => s + b.seconds, 0)).toFixed(0)} s`,
  ].join('\n');
}
