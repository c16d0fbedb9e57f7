import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { WORKSPACE_ROOT } from '../src/paths';
import { runTraining, type TrainEvents } from '../src/train/train-run';
import { fixture, tempDir } from './helpers';

const quiet: TrainEvents = { log: () => undefined, progress: () => undefined };
const run = promisify(execFile);

// A tiny T5 (1 layer, d=16) on 12 rows: 1 span-corruption step then 4 fine-tuning steps of at
// most 4 rows, dropout on (its masks come from the step's seeded stream), AdamW with decay.
const tiny = (dir: string) => ({
  data: fixture('train-tiny.csv'),
  runDir: path.join(dir, 'run'),
  out: path.join(dir, 'model'),
  vocabSize: 250,
  model: { dModel: 16, dFf: 32, dKv: 8, numHeads: 2, numLayers: 1, dropoutRate: 0.1 },
  holdout: { fraction: 0.25, seed: 1 },
  validation: { fraction: 0.34, seed: 3 },
  pretrainSteps: 1,
  maxSteps: 4,
  maxBatchSize: 4,
  warmupSteps: 1,
  evalEvery: 100,
  evalRows: 6,
  seed: 5,
});

const weights = (dir: string) => readFileSync(path.join(dir, 'model', 'model.safetensors'));

describe('exact checkpoint and resume', () => {
  const straight = tempDir('resume-straight');

  beforeAll(async () => {
    const result = await runTraining(tiny(straight), { resume: false }, quiet);
    expect(result).toMatchObject({ status: 'finished', steps: 5 });
  }, 150_000);

  it('2 steps, stop, resume, 3 more steps: bit-identical weights to 5 steps in one go', async () => {
    const dir = tempDir('resume-split');
    const first = await runTraining(tiny(dir), { resume: false, stopAtStep: 2 }, quiet);
    expect(first).toMatchObject({ status: 'stopped', reason: 'stop-at-step', steps: 2 });
    // One complete checkpoint, named by an atomically replaced pointer; no temporary leftovers.
    const latest = JSON.parse(readFileSync(path.join(dir, 'run', 'latest.json'), 'utf8'));
    expect(latest).toEqual({ checkpoint: path.join('checkpoints', 'step-00000002'), step: 2 });
    expect(readdirSync(path.join(dir, 'run', 'checkpoints'))).toEqual(['step-00000002']);
    expect(readdirSync(path.join(dir, 'run')).filter((f) => f.includes('.tmp'))).toEqual([]);
    const ckpt = path.join(dir, 'run', latest.checkpoint);
    for (const file of ['config.json', 'model.safetensors', 'optimizer.safetensors', 'state.json'])
      expect(existsSync(path.join(ckpt, file))).toBe(true);
    const state = JSON.parse(readFileSync(path.join(ckpt, 'state.json'), 'utf8'));
    expect(state).toMatchObject({ step: 2, epoch: 0, batchInEpoch: 1, format: 2 });
    expect(state.options.model.dModel).toBe(16);

    const logs: string[] = [];
    const rest = await runTraining(
      tiny(dir),
      { resume: true },
      { log: (m) => logs.push(m), progress: () => undefined },
    );
    expect(logs.join('\n')).toMatch(/resuming at step 2 \(epoch 0, batch 1\)/);
    expect(rest).toMatchObject({ status: 'finished', steps: 5 });
    expect(Buffer.compare(weights(dir), weights(straight))).toBe(0);
  }, 150_000);

  it('an abort (SIGINT/SIGTERM in the CLI) checkpoints after the current step; resuming stays exact', async () => {
    const dir = tempDir('resume-signal');
    const abort = new AbortController();
    const stopped = await runTraining(
      tiny(dir),
      { resume: false, signal: abort.signal },
      { log: () => undefined, progress: (step) => step === 3 && abort.abort() },
    );
    expect(stopped).toMatchObject({ status: 'stopped', reason: 'signal', steps: 3 });
    const rest = await runTraining(tiny(dir), { resume: true }, quiet);
    expect(rest).toMatchObject({ status: 'finished', steps: 5 });
    expect(Buffer.compare(weights(dir), weights(straight))).toBe(0);
  }, 150_000);

  it('train --resume DIR continues with the options stored in the run, and refuses new ones', async () => {
    const dir = tempDir('resume-cli');
    const cli = async (...args: string[]) => {
      try {
        const r = await run(
          'npx',
          [
            'tsx',
            '--tsconfig',
            'apps/classifier/tsconfig.json',
            'apps/classifier/src/cli.ts',
            ...args,
          ],
          { cwd: WORKSPACE_ROOT, timeout: 120_000 },
        );
        return { ...r, code: 0 };
      } catch (error) {
        return error as { stdout: string; stderr: string; code: number };
      }
    };
    const first = await runTraining(tiny(dir), { resume: false, stopAtStep: 4 }, quiet);
    expect(first.status).toBe('stopped');
    const refused = await cli('train', '--resume', path.join(dir, 'run'), '--lr', '0.1');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /--resume DIR continues the run with its own options; --lr cannot change/,
    );
    const nothing = await cli(
      'train',
      '--resume',
      path.join(dir, 'nothing-here'),
      '--threads',
      '3',
    );
    expect(nothing.code).not.toBe(0);
    expect(nothing.stderr).toMatch(/--threads.*expected 1 or 2, got "3"/);
    const missing = await cli('train', '--resume', path.join(dir, 'nothing-here'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nothing-here holds no training run to resume/);
    const resumed = await cli('train', '--resume', path.join(dir, 'run'));
    expect(resumed.stderr).not.toMatch(/classifier:/);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/resuming at step 4/);
    expect(resumed.stdout.trimEnd().split('\n').at(-1)).toMatch(/^accuracy=(0\.\d{4}|1\.0000)$/);
    expect(Buffer.compare(weights(dir), weights(straight))).toBe(0);
  }, 150_000);
});

describe('train on SIGTERM', () => {
  it('checkpoints after the current step and exits cleanly, resumable', async () => {
    const { spawn } = await import('node:child_process');
    const dir = tempDir('resume-sigterm');
    // node itself (not npx → tsx → node), so the signal reaches the training process once.
    const child = spawn(
      process.execPath,
      [
        '--require',
        'tsx/cjs',
        'apps/classifier/src/cli.ts',
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
        '--layers',
        '1',
        '--batch-size',
        '2',
        '--epochs',
        '200',
        '--eval-every',
        '100000',
      ],
      {
        cwd: WORKSPACE_ROOT,
        env: { ...process.env, TSX_TSCONFIG_PATH: 'apps/classifier/tsconfig.json' },
      },
    );
    let stdout = '';
    // Training has started once the model line is logged; the signal handler is in place by then.
    const started = new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (/\] model: d=16/.test(stdout)) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    await started;
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/SIGTERM: checkpointing after the current step/);
    expect(stdout).toMatch(
      /stopped at step \d+\/\d+ \(interrupted\); checkpoint .*step-\d{8}; continue with --resume/,
    );
    const latest = JSON.parse(readFileSync(path.join(dir, 'run', 'latest.json'), 'utf8'));
    expect(latest.step).toBeGreaterThanOrEqual(0);
    expect(existsSync(path.join(dir, 'run', latest.checkpoint, 'optimizer.safetensors'))).toBe(
      true,
    );
    expect(existsSync(path.join(dir, 'model'))).toBe(false);
  }, 150_000);
});

describe('--select best', () => {
  it('finishes with the weights of the best validation evaluation, kept in run-dir/best', async () => {
    const dir = tempDir('select-best');
    const result = await runTraining(
      { ...tiny(dir), pretrainSteps: 0, evalEvery: 1, maxSteps: 4, select: 'best' as const },
      { resume: false },
      quiet,
    );
    expect(result.status).toBe('finished');
    const history = JSON.parse(readFileSync(path.join(dir, 'run', 'history.json'), 'utf8')) as {
      step: number;
      validationAccuracy: number;
    }[];
    const top = Math.max(...history.map((p) => p.validationAccuracy));
    const bestStep = history.find((p) => p.validationAccuracy === top)?.step;
    const best = JSON.parse(readFileSync(path.join(dir, 'run', 'best', 'best.json'), 'utf8'));
    expect(best).toEqual({ step: bestStep, accuracy: top, rows: 6 });
    const manifest = JSON.parse(readFileSync(path.join(dir, 'model', 'classifier.json'), 'utf8'));
    expect(manifest.training.selected).toEqual({
      select: 'best',
      step: bestStep,
      accuracy: top,
      rows: 6,
    });
    expect(
      Buffer.compare(
        weights(dir),
        readFileSync(path.join(dir, 'run', 'best', 'model.safetensors')),
      ),
    ).toBe(0);
  }, 150_000);
});
