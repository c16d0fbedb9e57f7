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
}

/** `classifier eval`: prints per-class metrics, the confusion matrix and `accuracy=…` last. */
export async function evalCommand(options: EvalOptions): Promise<void> {
  const model = await loadClassifier(options.model);
  const dataset = await readDataset(options.data);
  let examples = [...dataset.examples];
  const header = [
    `model: ${options.model} (${model.kind})`,
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
