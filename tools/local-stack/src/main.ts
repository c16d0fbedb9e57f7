// `npm start`: the whole stack in one process on embedded defaults (see README.md here).
import { banner } from './banner';
import { settingsFromEnv, SettingsError, type LocalStackSettings } from './settings';
import { startLocalStack, type RunningStack } from './stack';

/**
 * Ctrl-C / SIGTERM → every service's graceful shutdown, then exit 0 (1 if any was not clean).
 * Installed before start-up, so a signal during start-up stops the stack as soon as it is up
 * instead of killing the process half-way; a second signal exits at once.
 */
function handleSignals(started: Promise<RunningStack | undefined>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stdout.write(
        `${signal} again: exiting without waiting for the rest of the shutdown\n`,
      );
      process.exit(1);
    }
    stopping = true;
    process.stdout.write(`${signal}: stopping every service (again to force)\n`);
    void started.then(async (stack) => {
      if (!stack) return; // start-up failed and has already stopped what it started
      const { clean, failures } = await stack.stop();
      for (const failure of failures) process.stderr.write(`  ${failure}\n`);
      process.stdout.write(
        clean ? 'local stack stopped cleanly\n' : 'local stack stopped with problems (above)\n',
      );
      process.exit(clean ? 0 : 1);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function main(): void {
  let settings: LocalStackSettings;
  try {
    settings = settingsFromEnv();
  } catch (error) {
    process.stderr.write(`${error instanceof SettingsError ? error.message : String(error)}\n`);
    process.exit(2);
  }
  // Node only replaces the default signal action (terminate at once) when a listener exists, so
  // the handlers go in before anything that could take time, and before the first line tells an
  // observer that start-up has begun.
  let resolveStarted: (stack: RunningStack | undefined) => void = () => undefined;
  handleSignals(new Promise((resolve) => (resolveStarted = resolve)));
  process.stdout.write(
    'starting the Conveyor local stack (the first start builds the checkers bundles)…\n',
  );
  void startLocalStack(settings).then(
    (stack) => {
      process.stdout.write(banner(stack, settings));
      resolveStarted(stack);
    },
    (error: unknown) => {
      process.stderr.write(`the local stack failed to start: ${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}

main();
