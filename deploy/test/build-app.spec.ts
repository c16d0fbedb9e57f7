import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WORKSPACE_ROOT } from '../src/paths';

// tools/scripts/build-app.mjs on a tiny workspace written here: a path-aliased library, an asset
// found through __dirname, a native addon (better-sqlite3), a package that loads files next to
// itself (pino) and a second entry point. It lives inside the repository so that Node resolves
// the real node_modules and the real package-lock.json, as in the image build. tfjs-core stands for
// the external packages whose deep ES-module files plain Node cannot require.
const BUILD_APP = path.join(WORKSPACE_ROOT, 'tools/scripts/build-app.mjs');
const lock = JSON.parse(readFileSync(path.join(WORKSPACE_ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, Record<string, unknown>>;
};
const installed = (name: string) => lock.packages[`node_modules/${name}`]?.['version'];

const FILES: Record<string, string> = {
  'tsconfig.base.json': JSON.stringify({
    compilerOptions: {
      baseUrl: '.',
      paths: { '@fixture/greeting': ['libs/greeting/src/index.ts'] },
    },
  }),
  'libs/greeting/src/index.ts': 'export const greet = (name: string): string => `hello ${name}`;\n',
  'apps/hello/tsconfig.json': JSON.stringify({ extends: '../../tsconfig.base.json' }),
  'apps/hello/assets/message.txt': 'from the asset file',
  'apps/hello/src/paths.ts':
    "import path from 'node:path';\nexport const ASSET = path.resolve(__dirname, '../assets/message.txt');\n",
  'apps/hello/src/main.ts': `import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { greet } from '@fixture/greeting';
import { ASSET } from './paths';

export function run(): Record<string, unknown> {
  const db = new Database(':memory:');
  const row = db.prepare('select 40 + 2 as answer').get() as { answer: number };
  db.close();
  return {
    greeting: greet('bundle'),
    asset: readFileSync(ASSET, 'utf8'),
    answer: row.answer,
    pino: typeof pino,
    gradients: tf.getGradient('Abs') !== undefined,
  };
}

if (require.main === module) console.log(JSON.stringify(run()));
`,
  'apps/hello/src/worker.ts':
    "import { greet } from '@fixture/greeting';\nif (require.main === module) console.log(greet('worker'));\n",
  'apps/hello/src/helper.ts':
    "export const notAnEntry = 'helpers are bundled into the entries, not built alone';\n",
};

function writeWorkspace(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(WORKSPACE_ROOT, 'tmp', 'build-app-'));
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), content);
  }
  return root;
}

const buildApp = (root: string, app = 'hello') =>
  execFileSync(process.execPath, [BUILD_APP, app, '--root', root], {
    encoding: 'utf8',
    stdio: 'pipe',
  });

describe('tools/scripts/build-app.mjs', () => {
  jest.setTimeout(120_000);
  mkdirSync(path.join(WORKSPACE_ROOT, 'tmp'), { recursive: true });
  const root = writeWorkspace(FILES);
  const out = path.join(root, 'dist/apps/hello');
  let log = '';
  beforeAll(() => {
    log = buildApp(root);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('bundles main.ts and every other directly-run top-level file, nothing else', () => {
    expect(log).toContain('built hello: dist/apps/hello/main.js, dist/apps/hello/worker.js');
    const outputs = readFileSync(path.join(out, 'meta.json'), 'utf8');
    expect(
      Object.keys(JSON.parse(outputs).outputs)
        .filter((f: string) => f.endsWith('.js'))
        .map((f: string) => path.basename(f))
        .sort(),
    ).toEqual(['main.js', 'worker.js']);
  });

  it('produces bundles that run: aliases inlined, assets found via __dirname, native addon loaded', () => {
    const result = JSON.parse(
      execFileSync(process.execPath, [path.join(out, 'main.js')], { encoding: 'utf8' }),
    );
    expect(result).toEqual({
      greeting: 'hello bundle',
      asset: 'from the asset file',
      answer: 42,
      pino: 'function',
      // registered by an ES-module file deep inside an external package, inlined by build-app
      gradients: true,
    });
    expect(
      execFileSync(process.execPath, [path.join(out, 'worker.js')], { encoding: 'utf8' }).trim(),
    ).toBe('hello worker');
    const bundle = readFileSync(path.join(out, 'main.js'), 'utf8');
    expect(bundle).toContain('hello ${name}'); // the library is inside the bundle
    expect(bundle).toMatch(/require\("better-sqlite3"\)/); // the addon is not
  });

  it('lists exactly the external packages, at the installed versions, with a lockfile closure', () => {
    const manifest = JSON.parse(readFileSync(path.join(out, 'package.json'), 'utf8'));
    expect(manifest.dependencies).toEqual({
      '@tensorflow/tfjs-core': installed('@tensorflow/tfjs-core'),
      'better-sqlite3': installed('better-sqlite3'),
      pino: installed('pino'),
    });
    const pruned = JSON.parse(
      readFileSync(path.join(out, 'package-lock.json'), 'utf8'),
    ) as typeof lock;
    expect(pruned.packages['']?.['dependencies']).toEqual(manifest.dependencies);
    for (const [at, entry] of Object.entries(pruned.packages)) {
      if (at === '') continue;
      const { dev: _d, devOptional: _o, peer: _p, ...original } = lock.packages[at] ?? {};
      expect(entry).toEqual(original); // same version and integrity as the workspace lockfile
      for (const dep of Object.keys({ ...(entry['dependencies'] as object) })) {
        const nested = `${at}/node_modules/${dep}`;
        expect(pruned.packages[nested] ?? pruned.packages[`node_modules/${dep}`]).toBeDefined();
      }
    }
    expect(pruned.packages['node_modules/bindings']).toBeDefined(); // better-sqlite3's own dependency
    expect(pruned.packages['node_modules/express']).toBeUndefined(); // nothing the bundle does not need
  });

  it('gives a lockfile npm ci accepts for a production install', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'conveyor-runtime-'));
    try {
      for (const f of ['package.json', 'package-lock.json'])
        writeFileSync(path.join(dir, f), readFileSync(path.join(out, f)));
      execFileSync(
        'npm',
        ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'],
        { cwd: dir, stdio: 'pipe' },
      );
      expect(
        JSON.parse(readFileSync(path.join(dir, 'node_modules/better-sqlite3/package.json'), 'utf8'))
          .version,
      ).toBe(installed('better-sqlite3'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an app without src/main.ts, and a workspace import that does not resolve, saying which', () => {
    const broken = writeWorkspace({
      ...FILES,
      'apps/nomain/src/worker.ts': 'export {};\n',
      'apps/typo/src/main.ts': "import { greet } from './missing';\nconsole.log(greet);\n",
    });
    try {
      expect(() => buildApp(broken, 'nomain')).toThrow(
        /apps\/nomain\/src\/main\.ts does not exist: every app needs src\/main\.ts/,
      );
      expect(() => buildApp(broken, 'typo')).toThrow(
        /esbuild failed for typo:\n\s+apps\/typo\/src\/main\.ts:1: Could not resolve "\.\/missing"/,
      );
      expect(() => buildApp(broken, '../etc')).toThrow(/is not a directory name under apps\//);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });
});
