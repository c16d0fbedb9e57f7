import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createT5, T5Tokenizer } from '@conveyor/t5';
import { loadClassifier } from '../src/model/load-classifier';
import { ensureBackend, lengthRuns, T5QualityClassifier } from '../src/model/t5-classifier';
import { T5_PREFIX } from '../src/model/t5-manifest';
import { T5_TOKENIZER_DIR } from '../src/paths';
import { tempDir } from './helpers';

describe('T5QualityClassifier', () => {
  let classifier: T5QualityClassifier;

  beforeAll(async () => {
    await ensureBackend();
    // The real T5 tokenizer with a tiny (untrained) model: enough to check the plumbing exactly.
    const tokenizer = T5Tokenizer.fromPath(T5_TOKENIZER_DIR);
    const model = createT5(
      {
        vocabSize: tokenizer.vocabSize,
        dModel: 16,
        dKv: 8,
        dFf: 32,
        numHeads: 2,
        numLayers: 1,
        dropoutRate: 0,
      },
      { seed: 3 },
    );
    classifier = new T5QualityClassifier(model, tokenizer, {
      kind: 't5',
      version: 'test-tiny',
      prefix: T5_PREFIX,
      shapeSummary: false,
      headTokens: 256,
      tailTokens: 256,
      trainedOn: { file: 'none', rows: 0, holdout: { fraction: 0.1, seed: 42 } },
    });
  });
  afterAll(() => classifier?.dispose());

  it('encodes `quality: <text>` with the real T5 tokenizer, first 256 and last 256 tokens kept', () => {
    const short = classifier.encode('pandas read html');
    expect(classifier.tokenizer.decode(short)).toBe('quality: pandas read html');
    expect(short.at(-1)).toBe(classifier.tokenizer.eosTokenId);
    const words = Array.from({ length: 800 }, (_, i) => `w${i}`).join(' ');
    const full = classifier.tokenizer.encode(T5_PREFIX + words);
    const kept = classifier.encode(words);
    expect(full.length).toBeGreaterThan(512);
    expect(kept).toHaveLength(512);
    expect(kept.slice(0, 256)).toEqual(full.slice(0, 256));
    expect(kept.slice(256)).toEqual(full.slice(-256));
    expect(classifier.tokenizer.decode(kept.slice(0, 4))).toMatch(/^quality: w0/);
  });

  it('starts the input with the shape summary when the manifest asks for it, and keeps it in the window', async () => {
    const dir = tempDir('t5-shape');
    await classifier.save(dir);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'classifier.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(manifest['shapeSummary']).toBe(false);
    writeFileSync(
      path.join(dir, 'classifier.json'),
      JSON.stringify({ ...manifest, shapeSummary: true }),
    );
    const shaped = await loadClassifier(dir);
    try {
      if (!(shaped instanceof T5QualityClassifier)) throw new Error('expected a T5 classifier');
      const words = `title pre code x = 1 code pre ${Array.from({ length: 800 }, (_, i) => `w${i}`).join(' ')}`;
      const text = shaped.tokenizer.decode(shaped.encode(words).slice(0, 60));
      expect(text).toMatch(
        /^quality: len 1\d pre 2 code 2 href 0 .* first 1 last 1\d ; title pre code/,
      );
      // Same weights, other input: the summary reaches the model.
      const [plain] = await classifier.predict(['pandas read html']);
      const [withShape] = await shaped.predict(['pandas read html']);
      expect(withShape?.probabilities.high).not.toBeCloseTo(plain?.probabilities.high ?? NaN, 6);
    } finally {
      shaped.dispose();
    }
  });

  it('predicts a distribution over none/low/high for every text, whatever the batch mix', async () => {
    const texts = [
      'short one',
      Array.from({ length: 300 }, (_, i) => `word${i}`).join(' '),
      'another short question',
    ];
    const batch = await classifier.predict(texts);
    expect(batch).toHaveLength(3);
    for (const p of batch) {
      expect(['none', 'low', 'high']).toContain(p.label);
      const { none, low, high } = p.probabilities;
      expect(none + low + high).toBeCloseTo(1, 5);
      expect(p.probabilities[p.label]).toBe(Math.max(none, low, high));
    }
    // Splitting into length runs must not change any text's result.
    const alone = await classifier.predict([texts[1] as string]);
    expect(alone[0]?.probabilities.high).toBeCloseTo(batch[1]?.probabilities.high ?? NaN, 5);
  });

  it('saves in HuggingFace layout and loads back through loadClassifier', async () => {
    const dir = tempDir('t5');
    await classifier.save(dir);
    const loaded = await loadClassifier(dir);
    try {
      expect(loaded.kind).toBe('t5');
      expect(loaded.description['version']).toBe('test-tiny');
      const [a] = await classifier.predict(['same input']);
      const [b] = await loaded.predict(['same input']);
      expect(b?.probabilities.none).toBeCloseTo(a?.probabilities.none ?? NaN, 6);
    } finally {
      loaded.dispose();
    }
  });

  it('explains a broken model directory', async () => {
    await expect(loadClassifier(path.join(tempDir('empty'), 'nothing'))).rejects.toThrow(
      /cannot load a classifier .*MODEL_DIR/,
    );
  });
});

describe('lengthRuns', () => {
  it('groups sorted lengths so the longest in a run is at most twice the shortest', () => {
    const runs = lengthRuns([500, 10, 12, 300, 20, 510, 11], 64);
    expect(runs).toEqual([
      [1, 6, 2, 4],
      [3, 0, 5],
    ]);
  });
  it('caps runs at the batch size', () => {
    expect(lengthRuns([5, 5, 5], 2)).toEqual([[0, 1], [2]]);
  });
});
