import { formatReport } from '../eval/report';
import { runTraining, type TrainResult } from '../train/train-run';
import type { TrainOptionsInput } from '../train/train-options';
import { progressBar } from './progress';

/**
 * `classifier train`: progress bar on stderr, log lines and the final report on stdout. The
 * first SIGINT/SIGTERM checkpoints after the current step and exits (resumable with --resume);
 * a second one exits at once, leaving the previous checkpoint.
 */
export async function trainCommand(
  options: TrainOptionsInput,
  session: { resume: boolean; stopAtStep?: number },
): Promise<TrainResult> {
  let bar: ReturnType<typeof progressBar> | undefined;
  const log = (message: string) => {
    if (bar) process.stderr.write('\n');
    process.stdout.write(`[${new Date().toISOString()}] ${message}\n`);
  };
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) {
      log(`${signal} again: exiting without a new checkpoint (the previous one is intact)`);
      process.exit(130);
    }
    log(`${signal}: checkpointing after the current step (send it again to exit at once)`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runTraining(
      options,
      {
        resume: session.resume,
        signal: abort.signal,
        ...(session.stopAtStep !== undefined ? { stopAtStep: session.stopAtStep } : {}),
      },
      {
        log,
        progress: (step, total, { phase, loss }) => {
          bar ??= progressBar('train', total);
          bar.update(step, `${phase} loss ${loss.toFixed(3)}`);
        },
      },
    );
    bar?.stop();
    if (result.status === 'finished') {
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
    return result;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
