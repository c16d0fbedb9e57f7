import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BaselineClassifier } from '../src/baseline/baseline-model';
import { readDataset } from '../src/data/read-dataset';
import type { Label } from '../src/labels';
import type { Prediction, QualityClassifier } from '../src/model/prediction';
import { WORKSPACE_ROOT } from '../src/paths';

export const fixture = (name: string) => path.join(__dirname, 'fixtures', name);
/** The CLI as a user runs it, in a child process. */
export async function cli(
  ...args: string[]
): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      'npx',
      ['tsx', '--tsconfig', 'apps/classifier/tsconfig.json', 'apps/classifier/src/cli.ts', ...args],
      { cwd: WORKSPACE_ROOT, timeout: 120_000 },
    );
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

export const tempDir = (prefix: string) =>
  mkdtempSync(path.join(tmpdir(), `classifier-${prefix}-`));

/**
 * A real (small) model for service tests: the TF-IDF baseline trained on the fixture rows. It
 * learns them exactly, so tests can assert the label a known question gets.
 */
export async function trainFixtureBaseline(): Promise<BaselineClassifier> {
  const rows = [
    ...(await readDataset(fixture('preprocessed.csv'))).examples,
    ...(await readDataset(fixture('kaggle-raw.csv'))).examples,
  ];
  const { model } = BaselineClassifier.train(
    rows.map((e) => e.text),
    rows.map((e) => (e.target as { label: Label }).label),
    { minDocumentFrequency: 1, epochs: 30, seed: 1 },
  );
  return model;
}

/** Wraps a model to record the batch sizes it is called with (to observe dynamic batching). */
export class CountingClassifier implements QualityClassifier {
  readonly calls: number[] = [];
  private held: Promise<void> | undefined;
  constructor(
    private readonly inner: QualityClassifier,
    private readonly delayMs = 0,
  ) {}
  get kind() {
    return this.inner.kind;
  }
  get description() {
    return this.inner.description;
  }
  get maxBatchSize() {
    return this.inner.maxBatchSize;
  }
  /** The next model call waits until the returned function is called (a busy model, on demand). */
  holdNextCall(): () => void {
    let release: () => void = () => undefined;
    this.held = new Promise<void>((r) => (release = r));
    return release;
  }
  async predict(texts: readonly string[]): Promise<Prediction[]> {
    this.calls.push(texts.length);
    const held = this.held;
    this.held = undefined;
    if (held) await held;
    // A model call takes time; without it every request would finish before the next arrives.
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    return this.inner.predict(texts);
  }
  dispose(): void {
    this.inner.dispose();
  }
}
