import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { BaselineClassifier } from '../src/baseline/baseline-model';
import { configFrom } from '../src/config';
import { start } from '../src/main';
import { ensembleCommand } from '../src/commands/ensemble-command';
import { readDataset } from '../src/data/read-dataset';
import { selectionSplits } from '../src/data/selection-split';
import { LABELS, type Label } from '../src/labels';
import {
  crossValidateWeights,
  fitWeights,
  simplexGrid,
  weightGrid,
} from '../src/model/ensemble-fit';
import { combineProbabilities } from '../src/model/ensemble-manifest';
import { loadClassifier } from '../src/model/load-classifier';
import type { Prediction, QualityClassifier } from '../src/model/prediction';
import { SHIPPED_T5_DIR } from '../src/paths';
import { runTraining } from '../src/train/train-run';
import { cli, fixture, tempDir } from './helpers';

/** A real model that also records every text it is asked about. */
class RecordingClassifier implements QualityClassifier {
  readonly texts: string[] = [];
  constructor(private readonly inner: QualityClassifier) {}
  get kind() {
    return this.inner.kind;
  }
  get description() {
    return this.inner.description;
  }
  get maxBatchSize() {
    return this.inner.maxBatchSize;
  }
  async predict(texts: readonly string[]): Promise<Prediction[]> {
    this.texts.push(...texts);
    return this.inner.predict(texts);
  }
  dispose(): void {
    this.inner.dispose();
  }
}

// train-tiny.csv has 24 rows: 6 held out (fraction 0.25, seed 1), 6 of the other 18 for
// validation (fraction 0.34, seed 3), 12 to train on — as in train-and-eval-cli.spec.ts.
const DATA = fixture('train-tiny.csv');
const HOLDOUT = { fraction: 0.25, seed: 1 };
const VALIDATION = { fraction: 0.34, seed: 3 };
const quiet = { log: () => undefined, progress: () => undefined };
const probabilitiesOf = (p: Prediction) => LABELS.map((l) => p.probabilities[l]);

describe('ensemble of a T5 and a TF-IDF baseline', () => {
  const root = tempDir('ensemble');
  const t5Dir = path.join(root, 't5');
  const baselineDir = path.join(root, 'baseline');
  const ensembleDir = path.join(root, 'ensemble');
  let splits: ReturnType<typeof selectionSplits>;

  beforeAll(async () => {
    // A tiny T5 (1 layer, d=16, 2 steps): what matters is that its rows and splits are real.
    await runTraining(
      {
        data: DATA,
        runDir: path.join(root, 't5-run'),
        out: t5Dir,
        vocabSize: 250,
        model: { dModel: 16, dFf: 32, dKv: 8, numHeads: 2, numLayers: 1, dropoutRate: 0 },
        holdout: HOLDOUT,
        validation: VALIDATION,
        maxSteps: 2,
        maxBatchSize: 8,
        evalEvery: 2,
        evalRows: 6,
        seed: 5,
      },
      { resume: false },
      quiet,
    );
    splits = selectionSplits((await readDataset(DATA)).examples, HOLDOUT, VALIDATION);
  }, 120_000);

  it('baseline --exclude-validation trains without the validation split and records it', async () => {
    const { stdout, stderr, code } = await cli(
      'baseline',
      '--train',
      DATA,
      '--holdout-fraction',
      '0.25',
      '--seed',
      '1',
      '--exclude-validation',
      '--validation-fraction',
      '0.34',
      '--validation-seed',
      '3',
      '--save',
      baselineDir,
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/trained on 12 rows/);
    expect(stdout).toMatch(
      /validation split \(fraction 0\.34 of the training side, seed 3; held out: fraction 0\.25, seed 1, not scored\) \(6 rows\)/,
    );
    const manifest = JSON.parse(readFileSync(path.join(baselineDir, 'classifier.json'), 'utf8'));
    expect(manifest.trainedOn).toMatchObject({
      rows: 12,
      holdout: HOLDOUT,
      validation: VALIDATION,
    });
    // The same 12 rows as the T5, which records its own count.
    const t5 = JSON.parse(readFileSync(path.join(t5Dir, 'classifier.json'), 'utf8'));
    expect(t5.trainedOn.rows).toBe(12);
  }, 60_000);

  it('combines probabilities linearly or log-linearly and fits the weight with ties to the smaller baseline weight', () => {
    expect(
      combineProbabilities(
        'linear',
        [
          [1, 0, 0],
          [0, 0.5, 0.5],
        ],
        [3, 1],
      ),
    ).toEqual([0.75, 0.125, 0.125]);
    const geometric = combineProbabilities(
      'log-linear',
      [
        [0.5, 0.25, 0.25],
        [0.5, 0.25, 0.25],
      ],
      [0.5, 0.5],
    );
    geometric.forEach((p, i) => expect(p).toBeCloseTo([0.5, 0.25, 0.25][i] as number, 12));
    // Weight 0 ignores a member even where it is certain.
    const ignored = combineProbabilities(
      'log-linear',
      [
        [0.2, 0.3, 0.5],
        [1, 0, 0],
      ],
      [1, 0],
    );
    ignored.forEach((p, i) => expect(p).toBeCloseTo([0.2, 0.3, 0.5][i] as number, 12));
    expect(weightGrid(0.25)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(() => weightGrid(0.3)).toThrow(/must divide 1/);

    // Row 0: the T5 is right and the baseline wrong; rows 1 and 2 the other way round. Mixed,
    // row 0 survives up to w = 0.75, row 1 from w = 0.25, row 2 from w = 0.5: 0.5 and 0.75 both
    // get 3/3, and the tie goes to 0.5.
    const t5 = [
      [0.6, 0.3, 0.1],
      [0.4, 0.35, 0.25],
      [0.3, 0.45, 0.25],
    ];
    const baseline = [
      [0.45, 0.5, 0.05],
      [0.1, 0.8, 0.1],
      [0.5, 0.1, 0.4],
    ];
    const truth: Label[] = ['none', 'low', 'none'];
    const fit = fitWeights([t5, baseline], truth, 'linear', 0.25);
    expect(fit.grid.map((g) => g.weights)).toEqual([
      [1, 0],
      [0.75, 0.25],
      [0.5, 0.5],
      [0.25, 0.75],
      [0, 1],
    ]);
    expect(fit.grid.map((g) => g.right)).toEqual([1, 2, 3, 3, 2]);
    expect(fit.chosen.weights).toEqual([0.5, 0.5]);
    expect(fit.correct).toEqual([true, true, true]);
  });

  it('fits N members on the simplex grid and cross-validates the fit inside the rows', () => {
    expect(simplexGrid(3, 0.5)).toEqual([
      [1, 0, 0],
      [0.5, 0.5, 0],
      [0.5, 0, 0.5],
      [0, 1, 0],
      [0, 0.5, 0.5],
      [0, 0, 1],
    ]);
    expect(simplexGrid(3, 0.05)).toHaveLength(231);
    for (const point of simplexGrid(4, 0.1))
      expect(point.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    // Each member is right on its own third of the rows and unsure elsewhere; only a mixture of
    // all three gets every row, and no single member or pair does.
    const sure = (c: number) => LABELS.map((_, k) => (k === c ? 0.9 : 0.05));
    const unsure = (c: number) => LABELS.map((_, k) => (k === c ? 0.34 : 0.33));
    const truth: Label[] = ['none', 'low', 'high', 'none', 'low', 'high'];
    const wrongOf = (c: number) => (c + 1) % 3;
    const member = (m: number) =>
      truth.map((label, i) =>
        i % 3 === m ? sure(LABELS.indexOf(label)) : unsure(wrongOf(LABELS.indexOf(label))),
      );
    const members = [member(0), member(1), member(2)];
    const fit = fitWeights(members, truth, 'log-linear', 0.25);
    expect(fit.grid).toHaveLength(15);
    expect(fit.chosen.right).toBe(6);
    expect(fit.chosen.weights.every((w) => w > 0)).toBe(true);
    for (const pair of [
      [0, 1],
      [0, 2],
      [1, 2],
    ])
      expect(
        fitWeights(
          pair.map((m) => members[m] as number[][]),
          truth,
          'log-linear',
          0.25,
        ).chosen.right,
      ).toBeLessThan(6);
    const cv = crossValidateWeights(members, truth, 'log-linear', 0.25, { folds: 2, repeats: 3 });
    expect([cv.folds, cv.repeats, cv.scored]).toEqual([2, 3, 18]);
    expect(cv.accuracy).toBe(cv.right / 18);
    expect(() => fitWeights([members[0] as number[][]], truth, 'linear', 0.5)).toThrow(
      /at least two members/,
    );
  });

  it('fits the weight on the validation rows only and writes a self-contained ensemble directory', async () => {
    const recorders: RecordingClassifier[] = [];
    const lines: string[] = [];
    const result = await ensembleCommand({
      t5: t5Dir,
      baseline: baselineDir,
      out: ensembleDir,
      data: DATA,
      combine: 'log-linear',
      gridStep: 0.05,
      log: (line) => lines.push(line),
      loadMember: async (dir) => {
        const recorder = new RecordingClassifier(await loadClassifier(dir));
        recorders.push(recorder);
        return recorder;
      },
    });
    const validationTexts = splits.validation.map((e) => e.text);
    expect(recorders).toHaveLength(2);
    for (const recorder of recorders) expect(recorder.texts).toEqual(validationTexts);
    const others = new Set([...splits.train, ...splits.heldOut].map((e) => e.text));
    expect(recorders.flatMap((r) => r.texts).filter((t) => others.has(t))).toEqual([]);

    const manifest = JSON.parse(readFileSync(path.join(ensembleDir, 'classifier.json'), 'utf8'));
    expect(manifest.kind).toBe('ensemble');
    expect(manifest.combine).toBe('log-linear');
    expect(manifest.trainedOn).toEqual({
      file: 'train-tiny.csv',
      rows: 12,
      holdout: HOLDOUT,
      validation: VALIDATION,
    });
    expect(manifest.fit.rows).toBe(6);
    expect(manifest.fit.textsSha256).toBe(
      createHash('sha256').update(validationTexts.join('\u0000')).digest('hex'),
    );
    const grid = manifest.fit.grid as {
      weights: { t5: number; baseline: number };
      accuracy: number;
    }[];
    expect(grid).toHaveLength(21);
    // The grid starts at the T5 alone and moves weight to the baseline; a tie keeps the earlier.
    expect(grid.map((g) => g.weights.baseline)).toEqual(weightGrid(0.05));
    const best = Math.max(...grid.map((g) => g.accuracy));
    const firstBest = grid.find((g) => g.accuracy === best);
    expect(manifest.fit.chosen).toEqual(firstBest?.weights);
    expect(manifest.members.map((m: { dir: string; weight: number }) => [m.dir, m.weight])).toEqual(
      [
        ['members/t5', firstBest?.weights.t5],
        ['members/baseline', firstBest?.weights.baseline],
      ],
    );
    for (const file of [
      'members/t5/model.safetensors',
      'members/t5/tokenizer.json',
      'members/baseline/weights.bin',
    ])
      expect(existsSync(path.join(ensembleDir, file))).toBe(true);
    expect(result.fit.chosen.accuracy).toBeCloseTo(manifest.fit.accuracy, 4);
    expect(manifest.fit.crossValidation).toMatchObject({ folds: 5, repeats: 10 });
    expect(
      lines.filter((l) => /^ {2}t5 \d\.\d\d {2}baseline \d\.\d\d {2}accuracy /.test(l)),
    ).toHaveLength(21);
    expect(lines.filter((l) => l.endsWith('← chosen'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^validation accuracy=(0\.\d{4}|1\.0000)$/);

    await expect(
      ensembleCommand({
        t5: t5Dir,
        baseline: baselineDir,
        out: ensembleDir,
        data: DATA,
        combine: 'linear',
        gridStep: 0.05,
        log: () => undefined,
      }),
    ).rejects.toThrow(/exists and is not empty/);
  }, 60_000);

  it('classifier ensemble on the command line: linear rule, a coarser grid, the grid printed', async () => {
    const out = path.join(root, 'ensemble-linear');
    const { stdout, stderr, code } = await cli(
      'ensemble',
      '--t5',
      t5Dir,
      '--baseline',
      baselineDir,
      '--out',
      out,
      '--data',
      DATA,
      '--combine',
      'linear',
      '--grid-step',
      '0.25',
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /fitting the weights of 2 members \(t5, baseline\) on the validation split of train-tiny\.csv: 6 rows/,
    );
    expect(
      stdout.match(/^ {2}t5 \d\.\d\d {2}baseline (0\.00|0\.25|0\.50|0\.75|1\.00) {2}/gm),
    ).toHaveLength(5);
    expect(stdout).toMatch(/members copied into members\/t5, members\/baseline\)/);
    expect(stdout).toMatch(/^cross-validated inside the validation split \(5 folds × 10 repeats/m);
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(/^validation accuracy=(0\.\d{4}|1\.0000)$/);
    const manifest = JSON.parse(readFileSync(path.join(out, 'classifier.json'), 'utf8'));
    expect([manifest.combine, manifest.fit.gridStep, manifest.fit.grid.length]).toEqual([
      'linear',
      0.25,
      5,
    ]);
    expect(manifest.members[0].copiedFrom).toBe(path.basename(t5Dir));
  }, 60_000);

  // Six child processes one after another: on two loaded cores a tsx start alone takes seconds.
  it('three members on the command line: structure and character members, --member NAME=DIR', async () => {
    const split = [
      '--holdout-fraction',
      '0.25',
      '--seed',
      '1',
      '--validation-fraction',
      '0.34',
      '--validation-seed',
      '3',
      '--min-df',
      '1',
    ];
    const structure = path.join(root, 'structure');
    const char = path.join(root, 'char');
    for (const [analyzer, dir, lengths] of [
      ['structure', structure, []],
      ['char', char, ['--char-min', '2', '--char-max', '4']],
    ] as const) {
      const { stderr, code } = await cli(
        'baseline',
        '--train',
        DATA,
        '--analyzer',
        analyzer,
        ...lengths,
        '--exclude-validation',
        ...split,
        '--save',
        dir,
      );
      expect([stderr, code]).toEqual(['', 0]);
      const saved = JSON.parse(readFileSync(path.join(dir, 'classifier.json'), 'utf8'));
      expect(saved.options.analyzer).toBe(analyzer);
      if (analyzer === 'char')
        expect([saved.options.charMin, saved.options.charMax]).toEqual([2, 4]);
      expect(saved.trainedOn).toMatchObject({ rows: 12, holdout: HOLDOUT, validation: VALIDATION });
    }
    const out = path.join(root, 'ensemble-three');
    const { stdout, stderr, code } = await cli(
      'ensemble',
      '--t5',
      t5Dir,
      '--baseline',
      baselineDir,
      '--member',
      `shape=${structure}`,
      char,
      '--out',
      out,
      '--data',
      DATA,
      '--grid-step',
      '0.25',
      '--cv-folds',
      '2',
      '--cv-repeats',
      '2',
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/fitting the weights of 4 members \(t5, baseline, shape, char\)/);
    // Four members at step 0.25: C(7, 3) = 35 points, all printed.
    expect(stdout).toMatch(/\(35 points, step 0\.25\)/);
    expect(stdout).toMatch(/^cross-validated .*\(2 folds × 2 repeats/m);
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(/^validation accuracy=(0\.\d{4}|1\.0000)$/);
    const manifest = JSON.parse(readFileSync(path.join(out, 'classifier.json'), 'utf8'));
    expect(manifest.members.map((m: { dir: string; kind: string }) => [m.dir, m.kind])).toEqual([
      ['members/t5', 't5'],
      ['members/baseline', 'tfidf-logreg'],
      ['members/shape', 'tfidf-logreg'],
      ['members/char', 'tfidf-logreg'],
    ]);
    const weights = manifest.members.map((m: { weight: number }) => m.weight);
    expect(weights.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 9);
    expect(manifest.fit.crossValidation).toMatchObject({ folds: 2, repeats: 2, scored: 12 });
    // It serves like any model, and answers the weighted combination of all four members.
    const [ensemble, ...members] = await Promise.all(
      [out, ...manifest.members.map((m: { dir: string }) => path.join(out, m.dir))].map((d) =>
        loadClassifier(d),
      ),
    );
    try {
      const texts = splits.heldOut.map((e) => e.text).slice(0, 3);
      const mine = await (ensemble as QualityClassifier).predict(texts);
      const theirs = await Promise.all(members.map((m) => m.predict(texts)));
      mine.forEach((prediction, i) => {
        const expected = combineProbabilities(
          'log-linear',
          theirs.map((t) => probabilitiesOf(t[i] as Prediction)),
          weights,
        );
        probabilitiesOf(prediction).forEach((p, c) =>
          expect(p).toBeCloseTo(expected[c] as number, 6),
        );
      });
    } finally {
      for (const m of [ensemble, ...members]) m?.dispose();
    }
    // Two members may not share a name, and one member is not an ensemble.
    const refused = await cli(
      'ensemble',
      '--member',
      `x=${structure}`,
      `x=${char}`,
      '--out',
      path.join(root, 'refused-names'),
      '--data',
      DATA,
    );
    expect([refused.code, refused.stderr]).toEqual([
      1,
      expect.stringMatching(/two members are named "x"/),
    ]);
    const single = await cli(
      'ensemble',
      '--baseline',
      baselineDir,
      '--out',
      path.join(root, 'one'),
      '--data',
      DATA,
    );
    expect(single.stderr).toMatch(/needs at least two members/);
  }, 300_000);

  it('baseline refuses n-gram lengths that would not be used or cannot be', async () => {
    const [unused, crossed] = await Promise.all([
      cli('baseline', '--analyzer', 'structure', '--char-min', '2'),
      cli('baseline', '--analyzer', 'char', '--char-min', '6'),
    ]);
    expect([unused.code, unused.stderr]).toEqual([
      1,
      expect.stringMatching(/--char-min and --char-max need --analyzer char/),
    ]);
    expect([crossed.code, crossed.stderr]).toEqual([
      1,
      expect.stringMatching(/--char-min 6 is above --char-max 5/),
    ]);
  }, 150_000);

  it('loads through loadClassifier and predicts the weighted combination of its members', async () => {
    const ensemble = await loadClassifier(ensembleDir);
    const manifest = JSON.parse(readFileSync(path.join(ensembleDir, 'classifier.json'), 'utf8'));
    const [t5, baseline] = await Promise.all(
      ['members/t5', 'members/baseline'].map((d) => loadClassifier(path.join(ensembleDir, d))),
    );
    try {
      expect(ensemble.kind).toBe('ensemble');
      expect(ensemble.maxBatchSize).toBe(64);
      expect(ensemble.description['version']).toBe(manifest.version);
      const texts = splits.heldOut.map((e) => e.text).slice(0, 4);
      const [mine, a, b] = await Promise.all(
        [ensemble, t5, baseline].map((m) => (m as QualityClassifier).predict(texts)),
      );
      const weights = manifest.members.map((m: { weight: number }) => m.weight);
      (mine as Prediction[]).forEach((prediction, i) => {
        const expected = combineProbabilities(
          'log-linear',
          [
            probabilitiesOf((a as Prediction[])[i] as Prediction),
            probabilitiesOf((b as Prediction[])[i] as Prediction),
          ],
          weights,
        );
        probabilitiesOf(prediction).forEach((p, c) =>
          expect(p).toBeCloseTo(expected[c] as number, 6),
        );
        expect(probabilitiesOf(prediction).reduce((x, y) => x + y, 0)).toBeCloseTo(1, 9);
      });
      expect(await ensemble.predict([])).toEqual([]);
      await expect(
        loadClassifier(ensembleDir, { window: { headTokens: 8, tailTokens: 0 } }),
      ).rejects.toThrow(/holds an ensemble; set a T5 member's window/);
    } finally {
      for (const m of [ensemble, t5, baseline]) m?.dispose();
    }
  });

  it('serves over HTTP from MODEL_DIR like any model directory', async () => {
    const app = await start(
      configFrom({ PORT: 0, LOG_LEVEL: 'silent', MODEL_DIR: ensembleDir, BATCH_WAIT_MS: 5 }),
      { handleSignals: false },
    );
    try {
      await app.service.ready;
      const version = JSON.parse(
        readFileSync(path.join(ensembleDir, 'classifier.json'), 'utf8'),
      ).version;
      const res = await request(app.server)
        .post('/v1/classify')
        .send({
          items: [
            {
              id: 'q',
              title: 'Pandas merge',
              body: '<p>How?</p><pre><code>df.merge()</code></pre>',
            },
            { title: 'best language?', body: '' },
          ],
        })
        .expect(200);
      expect(res.body.model).toEqual({ kind: 'ensemble', version });
      expect(res.body.results).toHaveLength(2);
      for (const r of res.body.results as { probabilities: Record<string, number> }[])
        expect(Object.values(r.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    } finally {
      await app.stop();
    }
  });

  it('eval --data FILE on an ensemble still prints accuracy=… last', async () => {
    const { stdout, stderr, code } = await cli(
      'eval',
      '--data',
      fixture('kaggle-raw.csv'),
      '--model',
      ensembleDir,
    );
    expect(stderr).not.toMatch(/classifier:/);
    expect(code).toBe(0);
    expect(stdout).toContain(`model: ${ensembleDir} (ensemble)`);
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(/^accuracy=(0\.\d{4}|1\.0000)$/);
  }, 60_000);

  it('refuses members that may have trained on the validation rows or disagree on the splits', async () => {
    const fitTo = (t5: string, baseline: string) =>
      ensembleCommand({
        t5,
        baseline,
        out: path.join(root, 'refused'),
        data: DATA,
        combine: 'log-linear',
        gridStep: 0.05,
        log: () => undefined,
      });
    // The shipped T5 predates the validation split: the same refusal as `eval --split validation`.
    await expect(fitTo(SHIPPED_T5_DIR, baselineDir)).rejects.toThrow(
      /records no validation split \(trainedOn\.validation\).* use a T5 trained with this version of `classifier train`/,
    );
    // A baseline trained on the whole training side (no --exclude-validation).
    const rows = splits.train.concat(splits.validation);
    const whole = path.join(root, 'baseline-whole');
    await BaselineClassifier.train(
      rows.map((e) => e.text),
      rows.map((e) => (e.target as { label: Label }).label),
      { minDocumentFrequency: 1 },
      { file: DATA, rows: rows.length, holdout: HOLDOUT },
    ).model.save(whole);
    await expect(fitTo(t5Dir, whole)).rejects.toThrow(
      /records no validation split.*classifier baseline --exclude-validation/,
    );
    const otherSplit = path.join(root, 'baseline-other');
    await BaselineClassifier.train(
      rows.map((e) => e.text),
      rows.map((e) => (e.target as { label: Label }).label),
      { minDocumentFrequency: 1 },
      { file: DATA, rows: 12, holdout: HOLDOUT, validation: { fraction: 0.34, seed: 4 } },
    ).model.save(otherSplit);
    await expect(fitTo(t5Dir, otherSplit)).rejects.toThrow(
      /different validation splits: t5 fraction 0\.34, seed 3, baseline fraction 0\.34, seed 4/,
    );
    await expect(fitTo(baselineDir, baselineDir)).rejects.toThrow(
      /holds a tfidf-logreg model, not a T5/,
    );
    await expect(
      ensembleCommand({
        baseline: baselineDir,
        members: [`inner=${ensembleDir}`],
        out: path.join(root, 'refused'),
        data: DATA,
        combine: 'log-linear',
        gridStep: 0.05,
        log: () => undefined,
      }),
    ).rejects.toThrow(/member inner .* is itself an ensemble; give its members instead/);
    expect(existsSync(path.join(root, 'refused'))).toBe(false);
  });

  describe('bad manifests', () => {
    const member = (name: string) => {
      const dir = path.join(root, 'bad', name);
      mkdirSync(path.dirname(dir), { recursive: true });
      if (!existsSync(dir)) cpSync(baselineDir, dir, { recursive: true });
      return dir;
    };
    const good = () => ({
      kind: 'ensemble',
      version: 'test',
      combine: 'linear',
      members: [
        { dir: 'a', weight: 0.5 },
        { dir: 'b', weight: 0.5 },
      ],
      trainedOn: { file: 'train-tiny.csv', rows: 12, holdout: HOLDOUT, validation: VALIDATION },
    });
    const loadWith = async (name: string, manifest: unknown) => {
      const dir = path.join(root, 'bad', name);
      mkdirSync(dir, { recursive: true });
      member(`${name}/a`);
      member(`${name}/b`);
      writeFileSync(path.join(dir, 'classifier.json'), JSON.stringify(manifest));
      return loadClassifier(dir);
    };

    it('loads a hand-written manifest whose members are relative directories', async () => {
      const model = await loadWith('good', good());
      expect(model.kind).toBe('ensemble');
      model.dispose();
    });

    it.each([
      ['no-members', { members: undefined }, /not a valid ensemble manifest \(members: /],
      [
        'one-member',
        { members: [{ dir: 'a', weight: 1 }] },
        /members: an ensemble needs at least two members/,
      ],
      [
        'absolute',
        {
          members: [
            { dir: '/tmp/a', weight: 1 },
            { dir: 'b', weight: 1 },
          ],
        },
        /members\.0\.dir: must be relative to the ensemble directory/,
      ],
      [
        'negative',
        {
          members: [
            { dir: 'a', weight: 1 },
            { dir: 'b', weight: -1 },
          ],
        },
        /members\.1\.weight: /,
      ],
      [
        'zero',
        {
          members: [
            { dir: 'a', weight: 0 },
            { dir: 'b', weight: 0 },
          ],
        },
        /every weight is 0/,
      ],
      ['combine', { combine: 'mean' }, /not a valid ensemble manifest \(combine: /],
      [
        'missing',
        {
          members: [
            { dir: 'a', weight: 1 },
            { dir: 'nope', weight: 1 },
          ],
        },
        /member 1 \("nope", resolved to .*nope\) cannot be loaded: cannot load a classifier from/,
      ],
      [
        'holdout',
        { trainedOn: { file: 'x.csv', rows: 1, holdout: { fraction: 0.1, seed: 42 } } },
        /member 0 \("a"\) held out fraction 0\.25, seed 1, the ensemble records fraction 0\.1, seed 42/,
      ],
    ])('refuses %s', async (name, change, message) => {
      await expect(loadWith(name, { ...good(), ...change })).rejects.toThrow(message);
    });

    it('refuses a nested ensemble and a member that may have trained on the validation rows', async () => {
      const outer = path.join(root, 'bad', 'nested');
      mkdirSync(outer, { recursive: true });
      cpSync(ensembleDir, path.join(outer, 'inner'), { recursive: true });
      member('nested/b');
      writeFileSync(
        path.join(outer, 'classifier.json'),
        JSON.stringify({
          ...good(),
          members: [
            { dir: 'inner', weight: 1 },
            { dir: 'b', weight: 1 },
          ],
        }),
      );
      await expect(loadClassifier(outer)).rejects.toThrow(
        /member 0 \("inner"\) is itself an ensemble/,
      );

      const dir = path.join(root, 'bad', 'unsplit');
      mkdirSync(dir, { recursive: true });
      cpSync(SHIPPED_T5_DIR, path.join(dir, 'a'), { recursive: true });
      member('unsplit/b');
      writeFileSync(
        path.join(dir, 'classifier.json'),
        JSON.stringify({
          ...good(),
          trainedOn: { ...good().trainedOn, holdout: { fraction: 0.1, seed: 42 } },
        }),
      );
      await expect(loadClassifier(dir)).rejects.toThrow(
        /fitted on the validation split .* member 0 \("a"\) records none, so it may have trained on those rows/,
      );
    });
  });
});
