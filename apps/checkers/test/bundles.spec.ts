import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBundles, webDir } from '../src/bundles';

describe('ensureBundles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'checkers-bundles-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds missing bundles, then leaves fresh ones alone', async () => {
    expect(await ensureBundles(dir)).toEqual({ built: ['web', 'engine-thread'], upToDate: [] });
    expect(readdirSync(webDir(dir)).sort()).toEqual([
      'app.js',
      'app.js.map',
      'index.html',
      'styles.css',
    ]);
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(['engine-thread.js', 'web.meta.json']));
    expect(await ensureBundles(dir)).toEqual({ built: [], upToDate: ['web', 'engine-thread'] });
  });

  it('rebuilds a bundle whose output went missing', async () => {
    rmSync(join(webDir(dir), 'styles.css'));
    expect((await ensureBundles(dir)).built).toEqual(['web']);
  });
});
