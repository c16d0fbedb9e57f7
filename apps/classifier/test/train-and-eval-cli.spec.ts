import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SHIPPED_T5_DIR } from '../src/paths';
import { runTraining, type TrainEvents, type TrainResult } from '../src/train/train-run';
import { cli, fixture, tempDir } from './helpers';

const quiet: TrainEvents = { log: () => undefined, progress: () => undefined };

function finished(result: TrainResult): Extract<TrainResult, { status: 'finished' }> {
  if (result.status !== 'finished') throw new Error(`training stopped at step ${result.steps}`);
  return result;
}

// A tiny T5 trained in the test: 24 rows, a 1-layer d=16 model, 2 fine-tuning steps. It cannot
// learn much; what is checked is that training, checkpoints, resume, determinism and the CLI work.
const tiny = (dir: string) => ({
  data: fixture('train-tiny.csv'),
  runDir: path.join(dir, 'run'),
  out: path.join(dir, 'model'),
  vocabSize: 250,
  model: { dModel: 16, dFf: 32, dKv: 8, numHeads: 2, numLayers: 1, dropoutRate: 0.1 },
  holdout: { fraction: 0.25, seed: 1 },
  // 24 rows: 6 held out, then 6 of the other 18 for validation (2 per class), 12 to train on.
  validation: { fraction: 0.34, seed: 3 },
  maxSteps: 2,
  pretrainSteps: 1,
  maxBatchSize: 8,
  evalEvery: 1,
  evalRows: 6,
  seed: 5,
});

describe('training and the eval CLI', () => {
  const dirA = tempDir('train-a');
  const dirB = tempDir('train-b');

  it('trains, checkpoints and writes a loadable model with its metrics and learning curve', async () => {
    const result = finished(await runTraining(tiny(dirA), { resume: false }, quiet));
    expect(result.steps).toBe(3);
    expect(result.report.total).toBe(6);
    for (const file of [
      'classifier.json',
      'config.json',
      'model.safetensors',
      'tokenizer.json',
      'learning-curve.svg',
      'history.json',
    ]) {
      expect(existsSync(path.join(dirA, 'model', file))).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(path.join(dirA, 'model', 'classifier.json'), 'utf8'));
    expect(manifest.metrics.accuracy).toBeCloseTo(result.report.accuracy, 4);
    expect(manifest.trainedOn.holdout).toEqual({ fraction: 0.25, seed: 1 });
    expect(manifest.trainedOn.validation).toEqual({ fraction: 0.34, seed: 3 });
    expect(manifest.trainedOn.rows).toBe(12);
    expect(manifest.metrics.split).toMatch(/^validation split of train-tiny\.csv/);
    expect(manifest.metrics.baseline.accuracy).toBeGreaterThanOrEqual(0);
    expect(result.notes[0]).toMatch(/^95% confidence interval \(Wilson, \d\/6 right\)/);
    expect(result.notes[1]).toMatch(
      /^TF-IDF baseline \(trained on the same rows\) on the same 6 rows/,
    );
    const svg = readFileSync(path.join(dirA, 'model', 'learning-curve.svg'), 'utf8');
    expect(svg).toMatch(/^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('validation accuracy');
    const history = JSON.parse(readFileSync(path.join(dirA, 'run', 'history.json'), 'utf8'));
    expect(history.map((p: { phase: string }) => p.phase)).toEqual([
      'pretrain',
      'finetune',
      'finetune',
    ]);
  }, 150_000);

  it('is deterministic for a seed', async () => {
    await runTraining(tiny(dirB), { resume: false }, quiet);
    const a = readFileSync(path.join(dirA, 'model', 'model.safetensors'));
    const b = readFileSync(path.join(dirB, 'model', 'model.safetensors'));
    expect(Buffer.compare(a, b)).toBe(0);
  }, 150_000);

  it('refuses to overwrite a run unless resuming, and resumes from the checkpoint', async () => {
    await expect(runTraining(tiny(dirB), { resume: false }, quiet)).rejects.toThrow(
      /already holds a training run; pass --resume/,
    );
    const logs: string[] = [];
    const result = await runTraining(
      { ...tiny(dirB), maxSteps: 3 },
      { resume: true },
      { log: (m) => logs.push(m), progress: () => undefined },
    );
    expect(logs.join('\n')).toMatch(/resuming at step 3/);
    expect(result.steps).toBe(4);
    await expect(runTraining({ ...tiny(dirB), seed: 6 }, { resume: true }, quiet)).rejects.toThrow(
      /different data\/model options/,
    );
  }, 150_000);

  it('fine-tunes from existing weights with their tokenizer (--init)', async () => {
    const dir = tempDir('train-init');
    const from = path.join(dirA, 'model');
    await expect(
      runTraining({ ...tiny(dir), init: from }, { resume: false }, quiet),
    ).rejects.toThrow(/needs --tokenizer/);
    const result = await runTraining(
      { ...tiny(path.join(dir, 'b')), init: from, tokenizer: from, maxSteps: 1, pretrainSteps: 0 },
      { resume: false },
      quiet,
    );
    expect(result.steps).toBe(1);
    const before = JSON.parse(readFileSync(path.join(from, 'config.json'), 'utf8'));
    const after = JSON.parse(readFileSync(path.join(dir, 'b', 'model', 'config.json'), 'utf8'));
    expect(after.d_model).toBe(before.d_model);
    expect(readFileSync(path.join(dir, 'b', 'model', 'tokenizer.json'), 'utf8')).toBe(
      readFileSync(path.join(from, 'tokenizer.json'), 'utf8'),
    );
  }, 150_000);

  it('eval prints per-class metrics, the none/low/high confusion matrix and accuracy last', async () => {
    const { stdout, code, stderr } = await cli(
      'eval',
      '--data',
      fixture('kaggle-raw.csv'),
      '--model',
      path.join(dirA, 'model'),
    );
    expect(stderr).not.toMatch(/classifier:/);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^accuracy=0\.\d{4}$|^accuracy=1\.0000$/);
    expect(stdout).toMatch(/format kaggle-raw/);
    expect(stdout).toMatch(/\nnone\s+\d\.\d{4}\s+\d\.\d{4}/);
    expect(stdout).toMatch(/true\\pred\s+none\s+low\s+high\n/);
    const matrixRows = lines.filter((l) => /^(none|low|high)\s+\d+\s+\d+\s+\d+$/.test(l));
    expect(matrixRows.map((l) => l.split(/\s+/)[0])).toEqual(['none', 'low', 'high']);
    const total = matrixRows
      .flatMap((l) => l.split(/\s+/).slice(1).map(Number))
      .reduce((a, b) => a + b, 0);
    expect(total).toBe(3);
  }, 150_000);

  it('eval scores the validation split or the held-out side with a CI and the baseline on the same rows', async () => {
    const model = path.join(dirA, 'model');
    const validation = await cli(
      'eval',
      '--data',
      fixture('train-tiny.csv'),
      '--model',
      model,
      '--split',
      'validation',
    );
    expect(validation.stderr).not.toMatch(/classifier:/);
    expect(validation.code).toBe(0);
    expect(validation.stdout).toMatch(
      /split: the validation split \(fraction 0\.34 of the training side, seed 3; held-out fraction 0\.25, seed 1\): 6 rows/,
    );
    // The shipped baseline trained on other rows of another file: one is trained on the model's 12.
    expect(validation.stdout).toMatch(
      /training a TF-IDF baseline on this model's 12 training rows instead/,
    );
    expect(validation.stdout).toMatch(/\n95% confidence interval \(Wilson, \d\/6 right\): \[/);
    expect(validation.stdout).toMatch(
      /\nTF-IDF baseline \(trained on the same 12 rows\) on the same 6 rows: accuracy /,
    );
    expect(validation.stdout).toMatch(
      /\ndifference \(this model − TF-IDF baseline\): [+-]\d\.\d{4}, paired bootstrap 95% CI/,
    );
    expect(validation.stdout.trimEnd().split('\n').at(-1)).toMatch(/^accuracy=(0\.\d{4}|1\.0000)$/);

    // A saved baseline trained on the same held-out split never saw the held-out rows: used as is.
    const saved = tempDir('eval-split-baseline');
    const trained = await cli(
      'baseline',
      '--train',
      fixture('train-tiny.csv'),
      '--holdout-fraction',
      '0.25',
      '--seed',
      '1',
      '--save',
      saved,
    );
    expect(trained.code).toBe(0);
    const held = await cli(
      'eval',
      '--data',
      fixture('train-tiny.csv'),
      '--model',
      model,
      '--holdout',
      '--baseline',
      saved,
    );
    expect(held.code).toBe(0);
    expect(held.stdout).toMatch(
      /split: the held-out side \(fraction 0\.25, seed 1\): 6 rows — report this once per shipped model/,
    );
    expect(held.stdout).toContain(`TF-IDF baseline (${saved}) on the same 6 rows: accuracy `);
    expect(held.stdout.trimEnd().split('\n').at(-1)).toMatch(/^accuracy=(0\.\d{4}|1\.0000)$/);
  }, 150_000);

  it('eval refuses a validation figure for a model that records no validation split', async () => {
    // The shipped T5 predates the validation split (the default model, an ensemble, records it).
    const { code, stderr } = await cli(
      'eval',
      '--data',
      fixture('train-tiny.csv'),
      '--model',
      SHIPPED_T5_DIR,
      '--split',
      'validation',
      '--no-baseline',
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/records no validation split .* Evaluate it with --split holdout/);
  }, 150_000);

  it('eval scores HQ/LQ files two-way and says so', async () => {
    const { stdout, code } = await cli(
      'eval',
      '--data',
      fixture('raw-collapsed-cp1252.csv'),
      '--model',
      path.join(dirA, 'model'),
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/two-way evaluation/);
    expect(stdout).toMatch(/\nLQ\s+\d+\s+\d+\s+\d+\n/);
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(/^accuracy=(0\.\d{4}|1\.0000)$/);
  }, 150_000);

  it('train passes the input window, shape summary, head width, dropout and warm-up options through to the model', async () => {
    const dir = tempDir('train-cli-window');
    const { code, stderr } = await cli(
      'train',
      '--data',
      fixture('train-tiny.csv'),
      '--run-dir',
      path.join(dir, 'run'),
      '--out',
      path.join(dir, 'model'),
      '--vocab-size',
      '250',
      '--d-model',
      '16',
      '--d-ff',
      '32',
      '--heads',
      '2',
      '--d-kv',
      '8',
      '--layers',
      '1',
      '--head-tokens',
      '24',
      '--tail-tokens',
      '8',
      '--dropout',
      '0',
      '--warmup-steps',
      '1',
      '--label-smoothing',
      '0.1',
      '--shape-summary',
      '--max-steps',
      '1',
      '--eval-rows',
      '4',
      '--holdout-fraction',
      '0.25',
    );
    expect(stderr).not.toMatch(/classifier:/);
    expect(code).toBe(0);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'model', 'classifier.json'), 'utf8'));
    expect([manifest.headTokens, manifest.tailTokens]).toEqual([24, 8]);
    expect(manifest.shapeSummary).toBe(true);
    expect(manifest.training.options.model.dropoutRate).toBe(0);
    expect(manifest.training.options.model.dKv).toBe(8);
    const config = JSON.parse(readFileSync(path.join(dir, 'model', 'config.json'), 'utf8'));
    expect([config.d_model, config.num_heads, config.d_kv]).toEqual([16, 2, 8]);
    expect(manifest.training.options.warmupSteps).toBe(1);
    expect(manifest.training.options.labelSmoothing).toBe(0.1);
  }, 150_000);

  it('eval can read a T5 model with another input window and says so', async () => {
    const { stdout, code, stderr } = await cli(
      'eval',
      '--data',
      fixture('kaggle-raw.csv'),
      '--model',
      path.join(dirA, 'model'),
      '--head-tokens',
      '6',
      '--tail-tokens',
      '0',
    );
    expect(stderr).not.toMatch(/classifier:/);
    expect(code).toBe(0);
    expect(stdout).toMatch(/input window 6 \+ 0 tokens \(the model's own: 256 \+ 256\)/);
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(/^accuracy=(0\.\d{4}|1\.0000)$/);
    const baseline = tempDir('eval-window-baseline');
    await cli('baseline', '--train', fixture('train-tiny.csv'), '--save', baseline);
    const refused = await cli(
      'eval',
      '--data',
      fixture('kaggle-raw.csv'),
      '--model',
      baseline,
      '--head-tokens',
      '64',
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/set a T5 model's input window; .* holds a tfidf-logreg model/);
  }, 150_000);

  it('baseline trains on extra rows too, dropping empty bodies and reporting what it kept', async () => {
    const { stdout, code, stderr } = await cli(
      'baseline',
      '--train',
      fixture('train-tiny.csv'),
      '--holdout-fraction',
      '0.25',
      '--extra-data',
      fixture('kaggle-valid-preprocessed.csv'),
      '--extra-drop-empty-body',
      '--extra-labels',
      'high,low',
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /kaggle-valid-preprocessed\.csv: 1 of 3 rows kept \(none 0, low 0, high 1\); dropped: 1 other class, 0 two-way, 1 empty body/,
    );
    expect(stdout).toMatch(/trained on 19 rows/);
    expect(stdout).toMatch(/held-out validation side .*\(6 rows\)/);
    const bad = await cli('baseline', '--extra-labels', 'high');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /--extra-labels, --extra-tag and --extra-drop-empty-body need --extra-data/,
    );
    const badLabel = await cli('train', '--extra-data', 'x.csv', '--extra-labels', 'great');
    expect(badLabel.code).not.toBe(0);
    expect(badLabel.stderr).toMatch(/comma-separated list of none, low, high/);
  }, 150_000);

  it('eval explains a bad file and exits non-zero', async () => {
    const { stderr, code } = await cli(
      'eval',
      '--data',
      fixture('unknown-label.csv'),
      '--model',
      path.join(dirA, 'model'),
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/unknown-label\.csv:5: unknown label "MEDIUM"/);
  }, 150_000);
});
