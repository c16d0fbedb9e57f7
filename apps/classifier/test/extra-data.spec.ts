import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import {
  describeExtra,
  parseLabelList,
  readExtraExamples,
  selectExtraExamples,
} from '../src/data/extra-data';
import type { Example } from '../src/data/formats';
import { DEFAULT_HOLDOUT, holdoutSide } from '../src/data/holdout';
import { normalizeText } from '../src/data/normalize';
import { readDataset } from '../src/data/read-dataset';
import { STOP_WORDS } from '../src/data/stopwords';
import type { Label } from '../src/labels';
import { SO_QUALITY_DIR } from '../src/paths';
import { runTraining } from '../src/train/train-run';
import { fixture, tempDir } from './helpers';

const row = (text: string, label: Label, emptyBody?: boolean): Example => ({
  id: text,
  text,
  target: { kind: 'class', label },
  line: 2,
  ...(emptyBody === undefined ? {} : { emptyBody }),
});

const KV_HEADER =
  'Id,CreationDate,Y,tags,body_text,code_indicator,reference_link_indicator,image_indicator,title_text';

describe('selectExtraExamples', () => {
  const base = {
    train: [row('merge two dataframes pandas', 'high')],
    validation: [row('python list comprehension filter', 'none')],
  };

  it('drops copies of held-out and training rows, other classes, empty bodies and two-way rows', () => {
    const candidates: Example[] = [
      row('python list comprehension filter', 'high', false), // a held-out text, another label
      row('merge two dataframes pandas', 'high', false), // already a training row
      row('fresh question one', 'high', false),
      row('fresh question one', 'high', false), // twice in the extra file
      row('title only question', 'low', true),
      row('fresh question two', 'low', false),
      row('fresh question three', 'none', false),
      { ...row('two way row', 'high'), target: { kind: 'quality', quality: 'LQ' } },
    ];
    const { examples, report } = selectExtraExamples(
      'x.csv',
      candidates,
      { files: ['x.csv'], labels: ['high', 'low'], dropEmptyBody: true },
      base,
    );
    expect(examples.map((e) => e.text)).toEqual(['fresh question one', 'fresh question two']);
    expect(report).toEqual({
      file: 'x.csv',
      rows: 8,
      kept: 2,
      keptPerClass: { none: 0, low: 1, high: 1 },
      droppedLabel: 1,
      droppedTwoWay: 1,
      droppedEmptyBody: 1,
      overlapHeldOut: 1,
      duplicates: 2,
    });
    expect(describeExtra(report)).toMatch(
      /x\.csv: 2 of 8 rows kept \(none 0, low 1, high 1\).*1 same text as a held-out row/,
    );
  });

  it('keeps empty bodies and every class unless told otherwise, and marks the source with a tag', () => {
    const candidates = [row('title only question', 'low', true), row('another one', 'none', false)];
    const plain = selectExtraExamples(
      'x.csv',
      candidates,
      { files: ['x.csv'], dropEmptyBody: false },
      base,
    );
    expect(plain.examples.map((e) => e.text)).toEqual(['title only question', 'another one']);
    const tagged = selectExtraExamples(
      'x.csv',
      [...candidates, row('python list comprehension filter', 'none')],
      { files: ['x.csv'], dropEmptyBody: false, tag: 'kvsource' },
      base,
    );
    // The tag is added after de-duplication, which compares the untagged text.
    expect(tagged.examples.map((e) => e.text)).toEqual([
      'kvsource title only question',
      'kvsource another one',
    ]);
    expect(tagged.report.overlapHeldOut).toBe(1);
  });

  it('parses label lists', () => {
    expect(parseLabelList('high, none')).toEqual(['high', 'none']);
    expect(() => parseLabelList('high,medium')).toThrow(/comma-separated list of none, low, high/);
    expect(() => parseLabelList(',')).toThrow();
  });
});

describe('extra rows read from kaggle-valid-preprocessed.csv', () => {
  it('marks rows whose body is empty', async () => {
    const data = await readDataset(fixture('kaggle-valid-preprocessed.csv'));
    expect(data.examples.map((e) => e.emptyBody)).toEqual([false, true, false]);
    const raw = await readDataset(fixture('kaggle-raw.csv'));
    expect(raw.examples.every((e) => e.emptyBody === false)).toBe(true);
    // train.csv's one text column cannot tell title from body.
    const pre = await readDataset(fixture('preprocessed.csv'));
    expect(pre.examples.every((e) => e.emptyBody === undefined)).toBe(true);
  });

  it('normalises title + body exactly as train.csv text is normalised', async () => {
    const dir = tempDir('extra-norm');
    // The same question in both layouts, with stop words and capitals left in on purpose.
    writeFileSync(
      path.join(dir, 'kv.csv'),
      `${KV_HEADER}\n1,2016-01-01,HQ,python,I am trying to Extract the US states from a wiki URL,1,0,0,Pandas: read_html\n`,
    );
    writeFileSync(
      path.join(dir, 'pre.csv'),
      'text,rating\n"pandas read html trying extract us states wiki url",HQ\n',
    );
    const [kv] = (await readDataset(path.join(dir, 'kv.csv'))).examples;
    const [pre] = (await readDataset(path.join(dir, 'pre.csv'))).examples;
    expect(kv?.text).toBe('pandas read html trying extract us states wiki url');
    expect(kv?.text).toBe(pre?.text);
  });

  it('adds rows to the training side only: the held-out rows and their split stay as they are', async () => {
    const dir = tempDir('extra-train');
    const tiny = await readDataset(fixture('train-tiny.csv'));
    const holdout = { fraction: 0.25, seed: 1 };
    const heldOut = holdoutSide(tiny.examples, holdout, 'validation');
    const copied = heldOut[0] as Example;
    // One extra row copies a held-out question (must not be trained on), one has no body.
    writeFileSync(
      path.join(dir, 'extra.csv'),
      [
        KV_HEADER,
        `1,2016-01-01,HQ,x,,0,0,0,${copied.text}`,
        '2,2016-01-01,LQ_EDIT,x,,0,0,0,fix my loop',
        '3,2016-01-01,HQ,x,vectorised join two frames pandas,1,0,0,pandas merge keys',
        '4,2016-01-01,LQ_CLOSE,x,best editor,0,0,0,which editor best',
      ].join('\n') + '\n',
    );
    const logs: string[] = [];
    const result = await runTraining(
      {
        data: fixture('train-tiny.csv'),
        extra: { files: [path.join(dir, 'extra.csv')], dropEmptyBody: true },
        runDir: path.join(dir, 'run'),
        out: path.join(dir, 'model'),
        vocabSize: 250,
        model: { dModel: 16, dFf: 32, dKv: 8, numHeads: 2, numLayers: 1 },
        holdout,
        validation: { fraction: 0.34, seed: 3 },
        maxSteps: 1,
        maxBatchSize: 8,
        evalRows: 6,
        seed: 5,
      },
      { resume: false },
      { log: (m) => logs.push(m), progress: () => undefined },
    );
    // Training reports on its validation split (6 of the 18 non-held-out rows), never the held-out side.
    expect(result.status === 'finished' && result.report.total).toBe(6);
    const log = logs.join('\n');
    expect(log).toMatch(/12 training rows, 6 validation rows .*, 6 held out/);
    expect(log).toMatch(/2 of 4 rows kept \(none 1, low 0, high 1\)/);
    expect(log).toMatch(/training side: 14 rows in all/);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'model', 'classifier.json'), 'utf8'));
    expect(manifest.trainedOn.holdout).toEqual(holdout);
    expect(manifest.trainedOn.rows).toBe(12);
    expect(manifest.trainedOn.extra.files[0]).toMatchObject({
      file: 'extra.csv',
      kept: 2,
      droppedEmptyBody: 2,
      overlapHeldOut: 0,
    });
    // Without dropping empty bodies, the copy of the held-out row is caught by its text.
    const again = await readExtraExamples(
      { files: [path.join(dir, 'extra.csv')] },
      { train: holdoutSide(tiny.examples, holdout, 'train'), validation: heldOut },
    );
    expect(again.reports[0]?.overlapHeldOut).toBe(1);
    expect(again.examples.map((e) => e.text)).not.toContain(copied.text);
  }, 150_000);

  const shared = existsSync(SO_QUALITY_DIR) ? it : it.skip;
  shared(
    'the real file: no held-out overlap, LQ_EDIT bodies lost, text in train.csv form',
    async () => {
      const train = await readDataset(path.join(SO_QUALITY_DIR, 'train.csv'));
      const base = {
        train: holdoutSide(train.examples, DEFAULT_HOLDOUT, 'train'),
        validation: holdoutSide(train.examples, DEFAULT_HOLDOUT, 'validation'),
      };
      const file = path.join(SO_QUALITY_DIR, 'kaggle-valid-preprocessed.csv');
      const all = await readExtraExamples({ files: [file] }, base);
      const report = all.reports[0];
      expect(report?.rows).toBe(15_000);
      expect(report?.overlapHeldOut).toBe(0);
      const kept = await readExtraExamples({ files: [file], dropEmptyBody: true }, base);
      // Nearly every LQ_EDIT row has no body, the other classes nearly all have one.
      expect(kept.reports[0]?.keptPerClass.low).toBeLessThan(100);
      expect(kept.reports[0]?.keptPerClass.high).toBeGreaterThan(4_900);
      expect(kept.reports[0]?.keptPerClass.none).toBeGreaterThan(4_900);
      // Both files were preprocessed by their authors (lower case, stop words out); our
      // normalisation, applied to every row, must agree with theirs: it leaves kaggle-valid's
      // title + body word for word as they are, and changes few train.csv rows.
      const unchangedShare = (texts: string[]) =>
        texts.filter((t) => normalizeText(t) === t.split(/\s+/).filter(Boolean).join(' ')).length /
        texts.length;
      const kvRaw = parse(readFileSync(file), { columns: true }) as Record<string, string>[];
      const trainRaw = parse(readFileSync(path.join(SO_QUALITY_DIR, 'train.csv')), {
        columns: true,
      }) as Record<string, string>[];
      expect(
        unchangedShare(kvRaw.map((r) => `${r['title_text'] ?? ''} ${r['body_text'] ?? ''}`)),
      ).toBeGreaterThan(0.99);
      expect(unchangedShare(trainRaw.map((r) => r['text'] ?? ''))).toBeGreaterThan(0.9);
      for (const e of kept.examples.slice(0, 200))
        expect(e.text.split(' ').some((w) => STOP_WORDS.has(w))).toBe(false);
    },
    120_000,
  );
});
