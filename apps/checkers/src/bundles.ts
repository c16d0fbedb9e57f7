import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Metafile, Plugin } from 'esbuild';
import { APP_ROOT } from './config';

/**
 * The two things esbuild builds for this app: the browser app and the engine thread script that
 * worker_threads load (a worker can't load TypeScript or tsconfig path aliases by itself, so the
 * engine code is bundled into one CommonJS file). `npx nx run checkers:build` builds both ahead
 * of time; a server that finds them missing or older than their sources builds them on start, so
 * a fresh clone works with `start` alone.
 */
const SRC = join(APP_ROOT, 'src');
/** esbuild's working directory; metafile input paths are relative to it. */
const WORKSPACE_ROOT = resolve(APP_ROOT, '..', '..');
const STATIC_WEB_FILES = ['index.html', 'styles.css'];

export const webDir = (bundleDir: string) => join(bundleDir, 'web');
export const engineThreadFile = (bundleDir: string) => join(bundleDir, 'engine-thread.js');

export interface BundleReport {
  readonly built: readonly string[];
  readonly upToDate: readonly string[];
}

/** Builds whichever bundle is missing or stale; `force` rebuilds both. */
export async function ensureBundles(
  bundleDir: string,
  options: {
    force?: boolean;
    entryPoints?: boolean;
    /** Called before a bundle is built (not when it is up to date), e.g. to say why start-up waits. */
    onBuild?: (name: string) => void;
  } = {},
): Promise<BundleReport> {
  const built: string[] = [];
  const upToDate: string[] = [];
  const wanted = [
    ...targets(bundleDir),
    ...(options.entryPoints ? entryPointTargets(bundleDir) : []),
  ];
  for (const target of wanted) {
    if (!options.force && (await isFresh(target))) {
      upToDate.push(target.name);
      continue;
    }
    options.onBuild?.(target.name);
    await buildTarget(target);
    built.push(target.name);
  }
  return { built, upToDate };
}

interface Target {
  readonly name: 'web' | 'engine-thread' | 'server' | 'engine-worker';
  readonly entry: string;
  readonly outfile: string;
  readonly platform: 'browser' | 'node';
  readonly bundleDir: string;
  readonly staticFiles: readonly { from: string; to: string }[];
}

function targets(bundleDir: string): Target[] {
  const web = webDir(bundleDir);
  return [
    {
      name: 'web',
      entry: join(SRC, 'web', 'main.ts'),
      outfile: join(web, 'app.js'),
      platform: 'browser',
      bundleDir,
      staticFiles: STATIC_WEB_FILES.map((f) => ({ from: join(SRC, 'web', f), to: join(web, f) })),
    },
    {
      name: 'engine-thread',
      entry: join(SRC, 'engine', 'engine-thread.ts'),
      outfile: engineThreadFile(bundleDir),
      platform: 'node',
      bundleDir,
      // TensorFlow.js is inlined, and its wasm backend loads its .wasm binaries from the
      // directory of the script it runs in — the bundle's: they are shipped beside it.
      staticFiles: tfjsWasmBinaries().map((from) => ({
        from,
        to: join(bundleDir, from.slice(from.lastIndexOf(sep) + 1)),
      })),
    },
  ];
}

/**
 * The tfjs wasm backend's binaries (plain, SIMD, threaded SIMD) from the installed package; none
 * where it isn't installed (a runtime image ships them prebuilt beside the bundle, see isFresh).
 */
function tfjsWasmBinaries(): string[] {
  let dist: string;
  try {
    dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  } catch {
    return [];
  }
  return readdirSync(dist)
    .filter((f) => f.endsWith('.wasm'))
    .sort()
    .map((f) => join(dist, f));
}

/**
 * Workspace code that finds files relative to its own source (the draughts-learning model:
 * BUNDLED_MODEL_DIR = <its src>/../model) would look beside the bundle once inlined; this rewrites
 * `__dirname` in workspace sources to their source directory, computed from the bundle's
 * location at run time — so it holds wherever the tree is copied, as long as dist/ stays beside
 * libs/ (the image keeps the workspace layout). Packages in node_modules are left alone.
 */
function sourceDirnamePlugin(outfile: string): Plugin {
  return {
    name: 'checkers-source-dirname',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('__dirname')) return undefined;
        const fromBundle = relative(dirname(outfile), dirname(args.path)).split(sep).join('/');
        return {
          contents: text.replace(
            /\b__dirname\b/g,
            `require('node:path').join(__dirname, ${JSON.stringify(fromBundle)})`,
          ),
          loader: 'ts',
        };
      });
    },
  };
}

/**
 * Packages with a native addon (prebuilt binaries or a binding.gyp) cannot be inlined: their
 * loader looks for the binary beside the script, which is then the bundle. They stay external,
 * required by absolute path, since the bundle may be written outside the workspace (the local
 * stack builds under its DATA_DIR) where no node_modules is found by walking up.
 */
function nativePackagesPlugin(): Plugin {
  const nativeRoots = new Map<string, boolean>();
  const isNative = (root: string) => {
    let native = nativeRoots.get(root);
    if (native === undefined) {
      native = ['binding.gyp', 'prebuilds'].some((f) => existsSync(join(root, f)));
      nativeRoots.set(root, native);
    }
    return native;
  };
  return {
    name: 'checkers-native-packages',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:') || args.path.startsWith('@conveyor/')) return undefined;
        const name = args.path
          .split('/')
          .slice(0, args.path.startsWith('@') ? 2 : 1)
          .join('/');
        let file: string;
        try {
          file = require.resolve(args.path, { paths: [args.resolveDir] });
        } catch {
          return undefined;
        }
        const marker = `${sep}node_modules${sep}${name.split('/').join(sep)}${sep}`;
        const at = file.lastIndexOf(marker);
        if (at < 0 || !isNative(file.slice(0, at + marker.length))) return undefined;
        return { path: file, external: true };
      });
    },
  };
}

/**
 * The server and engine worker as plain JavaScript (`node dist/main.js`), for images that ship
 * without tsx. npm packages stay external: they come from node_modules, native ones included.
 */
function entryPointTargets(bundleDir: string): Target[] {
  return (['main', 'engine-worker'] as const).map((name) => ({
    name: name === 'main' ? 'server' : 'engine-worker',
    entry: join(SRC, `${name}.ts`),
    outfile: join(bundleDir, `${name}.js`),
    platform: 'node',
    bundleDir,
    staticFiles: [],
  }));
}

/** Kept out of the web directory: it lists source paths, which the static server needn't publish. */
const metafileOf = (target: Target) => join(target.bundleDir, `${target.name}.meta.json`);

async function buildTarget(target: Target): Promise<void> {
  // Loaded lazily: esbuild is a build tool, needed at run time only when a bundle is missing.
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [target.entry],
    outfile: target.outfile,
    bundle: true,
    platform: target.platform,
    format: target.platform === 'node' ? 'cjs' : 'iife',
    target: target.platform === 'node' ? 'node20' : 'es2020',
    tsconfig: join(APP_ROOT, 'tsconfig.json'),
    sourcemap: true,
    minify: target.platform === 'browser',
    // The engine thread is self-contained; entry points load npm packages from node_modules.
    packages: target.name === 'server' || target.name === 'engine-worker' ? 'external' : 'bundle',
    metafile: true,
    plugins:
      target.name === 'engine-thread'
        ? [sourceDirnamePlugin(target.outfile), nativePackagesPlugin()]
        : [],
    logLevel: 'silent',
    absWorkingDir: WORKSPACE_ROOT,
    write: false,
  });
  // Written via rename so a server and a worker starting together on a fresh clone, both
  // building, never load a half-written file; the metafile goes last (it marks the build done).
  await mkdir(dirname(target.outfile), { recursive: true });
  for (const file of result.outputFiles) await writeAtomically(file.path, file.contents);
  for (const file of target.staticFiles) await writeAtomically(file.to, await readFile(file.from));
  await writeAtomically(metafileOf(target), JSON.stringify(result.metafile));
}

async function writeAtomically(path: string, contents: string | Uint8Array): Promise<void> {
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, path);
}

/**
 * Fresh when the bundle exists and no workspace input (per esbuild's metafile) or static file
 * is newer. npm packages (node_modules) aren't checked: they change only with the lockfile (run
 * `checkers:build` after an install), and a runtime image doesn't install the ones it bundled.
 */
async function isFresh(target: Target): Promise<boolean> {
  try {
    const builtAt = (await stat(target.outfile)).mtimeMs;
    const meta = JSON.parse(await readFile(metafileOf(target), 'utf8')) as Metafile;
    const inputs = [
      ...Object.keys(meta.inputs).map((p) => resolve(WORKSPACE_ROOT, p)),
      ...target.staticFiles.map((f) => f.from),
    ].filter((p) => !p.includes(`${sep}node_modules${sep}`));
    for (const input of inputs) {
      if ((await stat(input)).mtimeMs > builtAt) return false;
    }
    for (const file of target.staticFiles) await stat(file.to);
    return true;
  } catch {
    return false; // missing bundle, metafile or input: rebuild
  }
}
