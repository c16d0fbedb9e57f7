import { buildSync } from 'esbuild';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const src = join(__dirname, '..', 'src');

describe('the library stays portable (browser, worker_threads)', () => {
  it('imports nothing but its own modules', () => {
    for (const file of readdirSync(src).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(src, file), 'utf8');
      for (const m of text.matchAll(/from '([^']+)'/g)) {
        expect(`${file}: ${m[1]}`).toMatch(/: \.\//);
      }
    }
  });
  it('bundles for the browser with no Node built-ins', () => {
    const result = buildSync({ entryPoints: [join(src, 'index.ts')], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]?.text ?? '';
    expect(code).toContain('function legalMoves');
    expect(code).not.toMatch(/require\(|node:/);
  });
});
