import { formatReport } from '../eval/report';
import { runTraining } from '../train/train-run';
import type { TrainOptionsInput } from '../train/train-options';
import { progressBar } from './progress';

/** `classifier train`: progress bar on stderr, log lines and the final report on stdout. */
export async function trainCommand(options: TrainOptionsInput, resume: boolean): Promise<void> {
  let bar: ReturnType<typeof progressBar> | undefined;
  const log = (message: string) => {
    if (bar) process.stderr.write('\n');
    process.stdout.write(`[${new Date().toISOString()}] ${message}\n`);
  };
  const result = await runTraining(
    options,
    { resume },
    {
      log,
      progress: (step, total, { phase, loss }) => {
        bar ??= progressBar('train', total);
        bar.update(step, `${phase} loss ${loss.toFixed(3)}`);
      },
    },
  );
  bar?.stop();
  process.stdout.write(
    `\n${formatReport(
      result.report,
      [
        `model: ${result.out}`,
        `validation split (training examples/s: ${result.examplesPerSecond.toFixed(2)}); the held-out side was not read: score it once with \`eval --split holdout\``,
        '',
      ],
      result.notes,
    )}\n`,
  );
}
