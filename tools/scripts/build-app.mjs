#!/usr/bin/env node
// Bundles an app for its container image: every entry point of apps/<app>/src (main.ts, plus any
// other top-level src/*.ts that runs when executed directly, i.e. contains
// `require.main === module`) becomes dist/apps/<app>/<name>.js, one CommonJS file with the
// workspace libraries (@conveyor/*) and pure-JS packages inlined. Packages that cannot be bundled
// (native addons, packages that load files next to themselves, optional packages that are not
// installed) stay external; the script writes dist/apps/<app>/package.json and a package-lock.json
// pruned from the workspace lockfile listing exactly those, at the versions installed here, so the
// image's runtime stage installs only what this app needs (`npm ci --omit=dev`).
//
// Usage: node tools/scripts/build-app.mjs <app> [--root <workspace>] [--out <dir>] [--no-sourcemap]
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

/**
 * Always external. @tensorflow/*: native bindings and .wasm files located relative to the package;
 * the GPU image swaps @tensorflow/tfjs-node-gpu in. pg-native: pg's optional native driver.
 * esbuild: a platform binary (checkers builds its browser bundle with it).
 */
export const ALWAYS_EXTERNAL = ['@tensorflow/*', 'pg-native', 'esbuild', 'fsevents'];

/** A package depending on one of these loads a compiled addon at run time: it must stay external. */
const NATIVE_LOADERS = [
  'bindings',
  'node-gyp-build',
  'prebuild-install',
  'node-pre-gyp',
  '@mapbox/node-pre-gyp',
  'nan',
  'node-addon-api',
];

const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

export class BuildError extends Error {
  name = 'BuildError';
}

/** "@scope/name/sub/path" → "@scope/name"; "name/sub" → "name". */
export function packageNameOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const isBare = (specifier) =>
  !specifier.startsWith('.') && !path.isAbsolute(specifier) && !specifier.startsWith('#');

/** Finds the lockfile governing `dir`: the nearest package-lock.json walking up. */
function findLockfile(dir) {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const candidate = path.join(d, 'package-lock.json');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(d) === d)
      throw new BuildError(`no package-lock.json in ${dir} or above: run npm install first`);
  }
}

/** The entry points of an app: src/main.ts first, then other directly-runnable top-level files. */
export function findEntryPoints(appDir) {
  const src = path.join(appDir, 'src');
  const main = path.join(src, 'main.ts');
  if (!existsSync(main)) {
    throw new BuildError(
      `${path.relative(process.cwd(), main) || main} does not exist: every app needs src/main.ts as its server entry point`,
    );
  }
  const others = readdirSync(src)
    .filter(
      (f) =>
        f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.spec.ts') && f !== 'main.ts',
    )
    .filter((f) => /require\.main\s*===\s*module/.test(readFileSync(path.join(src, f), 'utf8')))
    .sort();
  return [main, ...others.map((f) => path.join(src, f))];
}

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Decides, per package, whether it can be inlined (memoised: one package.json read each). */
function makeExternalPolicy(keepExternal) {
  const cache = new Map();
  const alwaysExternal = (name) =>
    keepExternal.has(name) ||
    ALWAYS_EXTERNAL.some((p) => (p.endsWith('/*') ? name.startsWith(p.slice(0, -1)) : name === p));
  return (name, importerDir) => {
    if (alwaysExternal(name)) return { external: true, reason: 'listed in ALWAYS_EXTERNAL' };
    const key = `${name}\0${importerDir}`;
    if (cache.has(key)) return cache.get(key);
    let verdict;
    try {
      const pkgJson = createRequire(path.join(importerDir, 'noop.js')).resolve(
        `${name}/package.json`,
      );
      const pkg = readJson(pkgJson);
      const deps = Object.keys(pkg.dependencies ?? {});
      const native =
        pkg.gypfile === true ||
        existsSync(path.join(path.dirname(pkgJson), 'binding.gyp')) ||
        deps.some((d) => NATIVE_LOADERS.includes(d));
      verdict = native ? { external: true, reason: 'native addon' } : { external: false };
    } catch {
      // No package.json reachable: packages with "exports" hiding package.json are inlined
      // (esbuild resolves them itself); genuinely missing ones are handled by the resolver below.
      verdict = { external: false };
    }
    cache.set(key, verdict);
    return verdict;
  };
}

/** Would Node load this file as an ES module (by extension, package "type" or module syntax)? */
function isEsmFile(file) {
  if (file.endsWith('.mjs')) return true;
  if (file.endsWith('.cjs') || !file.endsWith('.js')) return false;
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      const type = readJson(manifest).type;
      if (type === 'module') return true;
      if (type === 'commonjs') return false;
      break;
    }
  }
  return /^\s*(import\s[^(]|export\s)/m.test(readFileSync(file, 'utf8'));
}

function isInstalled(name, fromDir) {
  const req = createRequire(path.join(fromDir, 'noop.js'));
  for (const probe of [`${name}/package.json`, name]) {
    try {
      req.resolve(probe);
      return true;
    } catch {
      // try the next probe: packages whose "exports" hide package.json still resolve by name
    }
  }
  return false;
}

/**
 * esbuild plugin: keeps native/optional packages external, and rewrites __dirname/__filename in
 * workspace sources to the directory the source file had, computed relative to the bundle at run
 * time. The image mirrors the workspace layout (/app/dist/apps/<app>/main.js next to
 * /app/apps/<app>/...), so code that finds its assets relative to its own file keeps working.
 */
function conveyorPlugin({ root, outdir, externals, missingOptional, selfLocating, keepExternal }) {
  const policy = makeExternalPolicy(keepExternal);
  return {
    name: 'conveyor-app',
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === 'entry-point' || !isBare(args.path) || BUILTINS.has(args.path))
          return undefined;
        if (args.pluginData?.conveyorRetry) return undefined;
        const name = packageNameOf(args.path);
        const verdict = policy(name, args.resolveDir);
        if (verdict.external && args.path !== name) {
          // A deep import into an external package that is an ES module with extensionless
          // relative imports (e.g. @tensorflow/tfjs-core/dist/register_all_gradients) loads under
          // tsx but not under plain Node: inline that file (its own bare imports stay external).
          const deep = await build.resolve(args.path, {
            kind: args.kind,
            resolveDir: args.resolveDir,
            importer: args.importer,
            pluginData: { conveyorRetry: true },
          });
          if (deep.errors.length === 0 && isEsmFile(deep.path)) return deep;
        }
        if (verdict.external) {
          if (!isInstalled(name, args.resolveDir)) {
            if (!args.importer.includes(`${path.sep}node_modules${path.sep}`)) return undefined; // esbuild reports it
            missingOptional.add(name);
          } else externals.add(name);
          return { path: args.path, external: true };
        }
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: { conveyorRetry: true },
        });
        if (resolved.errors.length === 0) return resolved;
        // An import from a package that is not installed: optional by construction (it was
        // installed without it). Left as a run-time require; workspace code gets a hard error.
        if (args.importer.includes(`${path.sep}node_modules${path.sep}`)) {
          missingOptional.add(name);
          return { path: args.path, external: true };
        }
        return undefined;
      });
      build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        const nm = args.path.lastIndexOf(`${path.sep}node_modules${path.sep}`);
        if (nm !== -1) {
          const rest = args.path.slice(nm + '/node_modules/'.length).split(path.sep);
          const pkg = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
          if (
            selfLocating &&
            pkg &&
            /\b__(dirname|filename)\b|import\.meta\.url/.test(readFileSync(args.path, 'utf8'))
          ) {
            selfLocating.add(pkg);
          }
          return undefined;
        }
        const source = readFileSync(args.path, 'utf8');
        if (!/\b__(dirname|filename)\b/.test(source)) return undefined;
        const relDir = path.relative(outdir, path.dirname(args.path)).split(path.sep).join('/');
        const fileName = path.basename(args.path).replace(/\.[cm]?ts$/, '.js');
        const prologue =
          `const __conveyor_dirname = require('node:path').join(__dirname, ${JSON.stringify(relDir)});` +
          `const __conveyor_filename = require('node:path').join(__conveyor_dirname, ${JSON.stringify(fileName)});`;
        const contents =
          prologue +
          source
            .replace(/\b__dirname\b/g, '__conveyor_dirname')
            .replace(/\b__filename\b/g, '__conveyor_filename');
        const ext = path.extname(args.path).slice(1);
        return {
          contents,
          loader: ext.endsWith('ts') ? 'ts' : 'js',
          resolveDir: path.dirname(args.path),
        };
      });
    },
  };
}

/**
 * The workspace lockfile cut down to `names` and everything they depend on, so `npm ci` in the
 * image installs exactly the versions tested here. Follows Node's resolution inside the lockfile
 * (nested node_modules first, then each parent's); dev/peer flags are dropped because in the
 * runtime project every kept package is a production dependency.
 */
export function pruneLockfile(lock, names, { name, version }) {
  if (lock.lockfileVersion < 2 || !lock.packages) {
    throw new BuildError(
      `package-lock.json has lockfileVersion ${lock.lockfileVersion}: version 2 or 3 needed (npm 7+)`,
    );
  }
  const packages = lock.packages;
  const locate = (dep, fromPath) => {
    for (let base = fromPath; ;) {
      const candidate = base ? `${base}/node_modules/${dep}` : `node_modules/${dep}`;
      if (packages[candidate]) return candidate;
      if (!base) return undefined;
      const idx = base.lastIndexOf('/node_modules/');
      base = idx === -1 ? '' : base.slice(0, idx);
    }
  };
  const kept = new Map();
  const queue = [];
  const rootDeps = {};
  for (const dep of [...names].sort()) {
    const at = locate(dep, '');
    if (!at)
      throw new BuildError(
        `${dep} is imported by the bundle but is not in package-lock.json: npm install it`,
      );
    rootDeps[dep] = packages[at].version;
    queue.push(at);
  }
  while (queue.length > 0) {
    const at = queue.shift();
    if (kept.has(at)) continue;
    const entry = packages[at];
    const { dev: _d, devOptional: _o, peer: _p, ...rest } = entry;
    kept.set(at, rest);
    const required = {
      ...entry.dependencies,
      ...entry.optionalDependencies,
      ...entry.peerDependencies,
    };
    for (const dep of Object.keys(required)) {
      const found = locate(dep, at);
      const optional =
        dep in (entry.optionalDependencies ?? {}) || entry.peerDependenciesMeta?.[dep]?.optional;
      if (found) queue.push(found);
      else if (!optional)
        throw new BuildError(
          `${at} needs ${dep}, which package-lock.json does not have: run npm install`,
        );
    }
  }
  const sorted = Object.fromEntries([...kept].sort(([a], [b]) => a.localeCompare(b)));
  const manifest = {
    name,
    version,
    private: true,
    description: 'Run-time dependencies of the bundle (generated by tools/scripts/build-app.mjs)',
    dependencies: rootDeps,
  };
  return {
    manifest,
    lockfile: {
      name,
      version,
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name, version, dependencies: rootDeps }, ...sorted },
    },
  };
}

export async function buildApp(
  app,
  { root = process.cwd(), out, sourcemap = true, log = console.log } = {},
) {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(app ?? ''))
    throw new BuildError(`app name ${JSON.stringify(app)} is not a directory name under apps/`);
  const appDir = path.join(root, 'apps', app);
  if (!existsSync(appDir)) throw new BuildError(`no such app: ${appDir}`);
  const outdir = path.resolve(out ?? path.join(root, 'dist', 'apps', app));
  const entryPoints = findEntryPoints(appDir);
  const tsconfig = [path.join(appDir, 'tsconfig.json'), path.join(root, 'tsconfig.base.json')].find(
    existsSync,
  );
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });

  const options = (plugin) => ({
    absWorkingDir: root,
    entryPoints,
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: sourcemap ? 'linked' : false,
    ...(tsconfig ? { tsconfig } : {}),
    // Keep class and function names: they appear in logs, errors and stack traces.
    keepNames: true,
    metafile: true,
    logLevel: 'silent',
    plugins: [plugin],
  });
  const fail = (error) => {
    const messages = (error.errors ?? []).map(
      (e) => `  ${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`,
    );
    throw new BuildError(`esbuild failed for ${app}:\n${messages.join('\n') || error.message}`);
  };
  // Pass 1 finds the packages that locate files relative to their own code (__dirname,
  // import.meta.url: worker scripts, .wasm, data files). Inlined, they would look next to the
  // bundle; kept external, they run from node_modules exactly as in development.
  const selfLocating = new Set();
  await esbuild
    .build({
      ...options(
        conveyorPlugin({
          root,
          outdir,
          externals: new Set(),
          missingOptional: new Set(),
          selfLocating,
          keepExternal: new Set(),
        }),
      ),
      write: false,
    })
    .catch(fail);
  const externals = new Set();
  const missingOptional = new Set();
  const result = await esbuild
    .build(
      options(
        conveyorPlugin({
          root,
          outdir,
          externals,
          missingOptional,
          selfLocating: undefined,
          keepExternal: selfLocating,
        }),
      ),
    )
    .catch(fail);

  // Externals the output really imports (a package marked external but tree-shaken away is not needed).
  const imported = new Set();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imp of output.imports) {
      if (imp.external && isBare(imp.path) && !BUILTINS.has(imp.path))
        imported.add(packageNameOf(imp.path));
    }
  }
  const runtimeDeps = [...imported].filter((n) => !missingOptional.has(n));
  const lockPath = findLockfile(root);
  const rootManifest = readJson(path.join(path.dirname(lockPath), 'package.json'));
  const { manifest, lockfile } = pruneLockfile(readJson(lockPath), runtimeDeps, {
    name: `${rootManifest.name ?? 'conveyor'}-${app}-runtime`,
    version: rootManifest.version ?? '0.0.0',
  });
  writeFileSync(path.join(outdir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  writeFileSync(path.join(outdir, 'package-lock.json'), JSON.stringify(lockfile, null, 2) + '\n');
  writeFileSync(path.join(outdir, 'meta.json'), JSON.stringify(result.metafile));

  const outputs = entryPoints.map((e) =>
    path.join(outdir, path.basename(e).replace(/\.ts$/, '.js')),
  );
  log(`built ${app}: ${outputs.map((o) => path.relative(root, o)).join(', ')}`);
  log(`  runtime dependencies: ${runtimeDeps.length ? runtimeDeps.sort().join(', ') : '(none)'}`);
  if (missingOptional.size)
    log(
      `  optional, not installed (left as run-time requires): ${[...missingOptional].sort().join(', ')}`,
    );
  return {
    outdir,
    outputs,
    runtimeDependencies: runtimeDeps.sort(),
    missingOptional: [...missingOptional].sort(),
  };
}

function parseArgs(argv) {
  const args = { app: undefined, root: process.cwd(), out: undefined, sourcemap: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--root') args.root = path.resolve(argv[++i] ?? '');
    else if (a === '--out') args.out = argv[++i];
    else if (a === '--no-sourcemap') args.sourcemap = false;
    else if (a.startsWith('-')) throw new BuildError(`unknown option ${a}`);
    else if (args.app === undefined) args.app = a;
    else throw new BuildError(`unexpected argument ${a}`);
  }
  if (!args.app)
    throw new BuildError(
      'usage: build-app.mjs <app> [--root <workspace>] [--out <dir>] [--no-sourcemap]',
    );
  return args;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { app, ...options } = parseArgs(process.argv.slice(2));
    await buildApp(app, options);
  } catch (error) {
    console.error(error instanceof BuildError ? error.message : error);
    process.exit(1);
  }
}
