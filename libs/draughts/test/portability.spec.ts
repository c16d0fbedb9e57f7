import { buildSync } from 'esbuild';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { formatMove, parseFen, search, type SearchResult } from '../src/index';

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
    const result = buildSync({
      entryPoints: [join(src, 'index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]?.text ?? '';
    expect(code).toContain('function legalMoves');
    expect(code).not.toMatch(/require\(|node:/);
  });
  it('searches inside a worker thread, exchanging only plain data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'draughts-'));
    try {
      const bundle = join(dir, 'draughts.cjs');
      buildSync({
        entryPoints: [join(src, 'index.ts')],
        bundle: true,
        platform: 'node',
        format: 'cjs',
        outfile: bundle,
        logLevel: 'silent',
      });
      const workerCode = `
        const { parentPort } = require('node:worker_threads');
        const d = require(${JSON.stringify(bundle)});
        parentPort.on('message', ({ fen, depth }) => {
          const parsed = d.parseFen(fen);
          parentPort.postMessage(parsed.ok ? d.search(parsed.value, { depth }) : { error: parsed.error });
        });`;
      const worker = new Worker(workerCode, { eval: true });
      const fen = 'W:W9,10,11,12,14:B19,21,22,23,26';
      const fromWorker = await new Promise<SearchResult>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.postMessage({ fen, depth: 6 });
      });
      await worker.terminate();
      const parsed = parseFen(fen);
      if (!parsed.ok) throw new Error(parsed.error.message);
      const here = search(parsed.value, { depth: 6 });
      expect(fromWorker.move && formatMove(fromWorker.move)).toBe(
        here.move && formatMove(here.move),
      );
      expect(fromWorker.score).toBe(here.score);
      expect(fromWorker.nodes).toBe(here.nodes);
      expect(fromWorker.pv).toEqual(here.pv);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
