import { existsSync } from 'node:fs';
import path from 'node:path';
import { DatasetError, detectFormat } from '../src/data/formats';
import { readDataset } from '../src/data/read-dataset';
import { splitHoldout } from '../src/data/split';
import { labelFromDataset, qualityOf } from '../src/labels';
import { SO_QUALITY_DIR } from '../src/paths';

const fixture = (name: string) => path.join(__dirname, 'fixtures', name);

describe('label mapping', () => {
  it('maps the data set labels to the decoder words', () => {
    expect(labelFromDataset('HQ')).toBe('high');
    expect(labelFromDataset('LQ_EDIT')).toBe('low');
    expect(labelFromDataset('LQ_CLOSE')).toBe('none');
    expect(labelFromDataset(' HQ ')).toBe('high');
    expect(labelFromDataset('LQ')).toBeUndefined();
    expect(labelFromDataset('hq')).toBeUndefined();
  });
  it('collapses classes to HQ/LQ', () => {
    expect(qualityOf('high')).toBe('HQ');
    expect(qualityOf('low')).toBe('LQ');
    expect(qualityOf('none')).toBe('LQ');
  });
});

describe('readDataset', () => {
  it('reads the original Kaggle format, turning HTML bodies into text', async () => {
    const data = await readDataset(fixture('kaggle-raw.csv'));
    expect(data.format).toBe('kaggle-raw');
    expect(data.encoding).toBe('utf-8');
    expect(data.examples.map((e) => e.target)).toEqual([
      { kind: 'class', label: 'high' },
      { kind: 'class', label: 'low' },
      { kind: 'class', label: 'none' },
    ]);
    const [first, second] = data.examples;
    expect(first?.id).toBe('34552551');
    // Title first; markup kept as words like train.csv; entities not decoded; <p> dropped.
    expect(first?.text).toBe(
      'get value select java tried code foo getvalue() code amp fails pre code select s new select() s getvalue() code pre',
    );
    expect(first?.line).toBe(2);
    expect(second?.line).toBe(8);
    expect(second?.text.startsWith('code doesnt work write code')).toBe(true);
  });

  it('reads the preprocessed train.csv format', async () => {
    const data = await readDataset(fixture('preprocessed.csv'));
    expect(data.format).toBe('preprocessed-text');
    expect(
      data.examples.map((e) => (e.target.kind === 'class' ? e.target.label : e.target.quality)),
    ).toEqual(['high', 'low', 'none']);
    expect(data.examples[0]?.text).toBe(
      'get value select java tried code foo getvalue() code amp fails pre code select new select() getvalue() code pre',
    );
  });

  it('reads kaggle-valid-preprocessed.csv, title before body', async () => {
    const data = await readDataset(fixture('kaggle-valid-preprocessed.csv'));
    expect(data.format).toBe('kaggle-valid-preprocessed');
    expect(data.examples[0]?.text).toBe(
      'pandas read html trying extract us states wiki url using python pandas',
    );
    expect(data.examples[1]?.text).toBe('get child records different tables');
    expect(data.examples[1]?.target).toEqual({ kind: 'class', label: 'low' });
  });

  it('reads Windows-1252 files and keeps HQ/LQ as a two-way truth', async () => {
    const data = await readDataset(fixture('raw-collapsed-cp1252.csv'));
    expect(data.encoding).toBe('windows-1252');
    expect(data.examples.map((e) => e.target)).toEqual([
      { kind: 'class', label: 'high' },
      { kind: 'quality', quality: 'LQ' },
    ]);
  });

  it('names the file and line of an unknown label', async () => {
    await expect(readDataset(fixture('unknown-label.csv'))).rejects.toThrow(
      new RegExp(`unknown-label\\.csv:5: unknown label "MEDIUM"; expected HQ, LQ_EDIT, LQ_CLOSE`),
    );
  });

  it('rejects an unknown header with the formats it knows', async () => {
    await expect(readDataset(fixture('unknown-format.csv'))).rejects.toThrow(
      /unknown-format\.csv:1: unknown CSV format .*preprocessed-text \(text,rating\)/,
    );
    expect(() => detectFormat(['a'], 'x.csv')).toThrow(DatasetError);
  });

  it('says when the file does not exist', async () => {
    await expect(readDataset(fixture('missing.csv'))).rejects.toThrow(
      /cannot read data file .*missing\.csv/,
    );
  });

  const shared = existsSync(SO_QUALITY_DIR) ? it : it.skip;
  shared(
    'smoke-reads the real shared files',
    async () => {
      const train = await readDataset(path.join(SO_QUALITY_DIR, 'train.csv'));
      expect(train.format).toBe('preprocessed-text');
      expect(train.examples).toHaveLength(6750);
      const valid = await readDataset(path.join(SO_QUALITY_DIR, 'kaggle-valid-preprocessed.csv'), {
        limit: 200,
      });
      expect(valid.format).toBe('kaggle-valid-preprocessed');
      expect(valid.examples).toHaveLength(200);
      const raw = await readDataset(path.join(SO_QUALITY_DIR, 'raw-sample.csv'));
      expect(raw.format).toBe('kaggle-raw');
      expect(raw.encoding).toBe('windows-1252');
      expect(raw.examples).toHaveLength(1655);
      expect(
        new Set(
          raw.examples.map((e) => (e.target.kind === 'class' ? e.target.label : e.target.quality)),
        ),
      ).toEqual(new Set(['high', 'LQ']));
    },
    60_000,
  );
});

describe('splitHoldout', () => {
  const examples = Array.from({ length: 300 }, (_, i) => ({
    id: `line:${i}`,
    text: `text number ${i}`,
    target: {
      kind: 'class' as const,
      label: (['none', 'low', 'high'] as const)[i % 3] as 'none' | 'low' | 'high',
    },
    line: i + 2,
  }));
  it('is deterministic, stratified and disjoint', () => {
    const a = splitHoldout(examples, { fraction: 0.1, seed: 42 });
    const b = splitHoldout([...examples].reverse(), { fraction: 0.1, seed: 42 });
    expect(a.validation).toHaveLength(30);
    expect(a.train).toHaveLength(270);
    expect(new Set(a.validation.map((e) => e.text))).toEqual(
      new Set(b.validation.map((e) => e.text)),
    );
    for (const label of ['none', 'low', 'high']) {
      expect(
        a.validation.filter((e) => e.target.kind === 'class' && e.target.label === label),
      ).toHaveLength(10);
    }
    const trainTexts = new Set(a.train.map((e) => e.text));
    expect(a.validation.some((e) => trainTexts.has(e.text))).toBe(false);
    const c = splitHoldout(examples, { fraction: 0.1, seed: 7 });
    expect(new Set(c.validation.map((e) => e.text))).not.toEqual(
      new Set(a.validation.map((e) => e.text)),
    );
  });
  it('rejects a fraction outside (0, 1)', () => {
    expect(() => splitHoldout(examples, { fraction: 1, seed: 1 })).toThrow(
      /fraction must be in \(0, 1\)/,
    );
  });
});

describe('splitHoldout order', () => {
  it('interleaves classes so a prefix of the validation side is a fair sample', () => {
    const examples = Array.from({ length: 600 }, (_, i) => ({
      id: `line:${i}`,
      text: `row ${i}`,
      target: {
        kind: 'class' as const,
        label: (['none', 'low', 'high'] as const)[Math.floor(i / 200)] as 'none' | 'low' | 'high',
      },
      line: i + 2,
    }));
    const { validation, train } = splitHoldout(examples, { fraction: 0.5, seed: 3 });
    for (const side of [validation, train]) {
      const firstThird = new Set(
        side.slice(0, 60).map((e) => (e.target.kind === 'class' ? e.target.label : '')),
      );
      expect(firstThird).toEqual(new Set(['none', 'low', 'high']));
    }
  });
});
