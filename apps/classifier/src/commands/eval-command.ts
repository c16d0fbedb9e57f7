import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readDataset } from '../data/read-dataset';
import { DEFAULT_HOLDOUT, holdoutSchema, holdoutSide } from '../data/holdout';
import { formatReport } from '../eval/report';
import { runEvaluation } from '../eval/run-evaluation';
import { loadClassifier } from '../model/load-classifier';
import { progressBar } from './progress';

export interface EvalOptions {
  data: string;
  model: string;
  holdout: boolean;
  limit?: number;
  batchSize?: number;
  /** Override a T5 model's input window (first headTokens + last tailTokens). */
  headTokens?: number;
  tailTokens?: number;
}

/** The window a T5 model directory's manifest sets; an error for anything else. */
async function t5Window(dir: string): Promise<{ headTokens: number; tailTokens: number }> {
  const manifest = JSON.parse(await readFile(path.join(dir, 'classifier.json'), 'utf8')) as {
    kind?: unknown;
    headTokens?: unknown;
    tailTokens?: unknown;
  };
  if (manifest.kind !== 't5')
    throw new Error(
      `--head-tokens/--tail-tokens set a T5 model's input window; ${dir} holds a ${String(manifest.kind)} model`,
    );
  return { headTokens: Number(manifest.headTokens), tailTokens: Number(manifest.tailTokens) };
}

/** `classifier eval`: prints per-class metrics, the confusion matrix and `accuracy=…` last. */
export async function evalCommand(options: EvalOptions): Promise<void> {
  const overridden = options.headTokens !== undefined || options.tailTokens !== undefined;
  const manifestWindow = overridden ? await t5Window(options.model) : undefined;
  const window = manifestWindow && {
    headTokens: options.headTokens ?? manifestWindow.headTokens,
    tailTokens: options.tailTokens ?? manifestWindow.tailTokens,
  };
  const model = await loadClassifier(options.model, window ? { window } : {});
  const dataset = await readDataset(options.data);
  let examples = [...dataset.examples];
  const header = [
    `model: ${options.model} (${model.kind})` +
      (window && manifestWindow
        ? `, input window ${window.headTokens} + ${window.tailTokens} tokens (the model's own: ${manifestWindow.headTokens} + ${manifestWindow.tailTokens})`
        : ''),
    `data: ${options.data} (format ${dataset.format}, encoding ${dataset.encoding}, ${dataset.examples.length} rows)`,
  ];
  if (options.holdout) {
    // Use the split the model itself held out when it says which; else the default one.
    const recorded = holdoutSchema.safeParse(
      (model.description['trainedOn'] as Record<string, unknown> | undefined)?.['holdout'],
    );
    const holdout = recorded.success ? recorded.data : DEFAULT_HOLDOUT;
    examples = holdoutSide(examples, holdout, 'validation');
    header.push(
      `split: the held-out validation side (fraction ${holdout.fraction}, seed ${holdout.seed}): ${examples.length} rows`,
    );
  }
  if (options.limit !== undefined) {
    examples = examples.slice(0, options.limit);
    header.push(`limited to the first ${examples.length} rows`);
  }
  const bar = progressBar('eval', examples.length);
  const { report, seconds } = await runEvaluation(model, examples, {
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    onProgress: (done) => bar.update(done),
  });
  bar.stop();
  header.push(
    `time: ${seconds.toFixed(1)} s (${(examples.length / seconds).toFixed(1)} examples/s)`,
    '',
  );
  model.dispose();
  process.stdout.write(formatReport(report, header) + '\n');
}
