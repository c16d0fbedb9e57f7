// `npm start`: the whole stack on embedded defaults, one worker thread per service (README.md here).
import { banner } from './banner';
import { settingsFromEnv, SettingsError, type LocalStackSettings } from './settings';
import { startLocalStack, type RunningStack, type StackEvents } from './stack';

/** How often the launcher checks that the process that started it is still there. */
const PARENT_CHECK_MS = 500;

/**
 * Stops every service gracefully, then exits 0 (1 if any shutdown was not clean, or if the
 * stop was caused by a failure). The first request wins: a Ctrl-C and the shell dying with it
 * are one stop, not two; a second signal exits at once.
 */
function stopper(started: Promise<RunningStack | undefined>) {
  let stopping = false;
  return (reason: string, options: { signal?: boolean; failed?: boolean } = {}) => {
    if (stopping) {
      if (!options.signal) return;
      process.stdout.write(
        `${reason} again: exiting without waiting for the rest of the shutdown\n`,
      );
      process.exit(1);
    }
    stopping = true;
    process.stdout.write(
      `${reason}: stopping every service${options.signal ? ' (again to force)' : ''}\n`,
    );
    void started.then(async (stack) => {
      if (!stack) return; // start-up failed and has already stopped what it started
      const { clean, failures } = await stack.stop();
      for (const failure of failures) process.stderr.write(`  ${failure}\n`);
      process.stdout.write(
        clean ? 'local stack stopped cleanly\n' : 'local stack stopped with problems (above)\n',
      );
      process.exit(clean && !options.failed ? 0 : 1);
    });
  };
}

/**
 * `npm start` runs npm → sh → node. A signal sent to npm alone (kill PID, an IDE's stop button,
 * a supervisor) reaches sh, which dies without passing it on, and this process would be left
 * running with every service. Its parent going away is that signal arriving: node then has a
 * new parent (init or a subreaper), which is what this watches for.
 */
function watchParent(stop: (reason: string) => void): void {
  const parent = process.ppid;
  if (parent <= 1) return; // started by init itself: there is nothing to lose
  setInterval(() => {
    if (process.ppid !== parent) stop(`the process that started the stack (pid ${parent}) ended`);
  }, PARENT_CHECK_MS).unref();
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
  // observer that start-up has begun. A stop requested during start-up waits until the stack is
  // up, then stops it the same way, instead of killing the process half-way.
  let resolveStarted: (stack: RunningStack | undefined) => void = () => undefined;
  const stop = stopper(new Promise((resolve) => (resolveStarted = resolve)));
  process.on('SIGINT', () => stop('SIGINT', { signal: true }));
  process.on('SIGTERM', () => stop('SIGTERM', { signal: true }));
  watchParent((reason) => stop(reason));
  process.stdout.write('starting the Conveyor local stack…\n');
  let running = false;
  const events: StackEvents = {
    note: (text) => process.stdout.write(`${text}\n`),
    died: (failure) => {
      // During start-up the failure is reported by startLocalStack itself.
      if (running) stop(failure, { failed: true });
    },
  };
  void startLocalStack(settings, events).then(
    (stack) => {
      running = true;
      process.stdout.write(banner(stack, settings));
      resolveStarted(stack);
    },
    (error: unknown) => {
      process.stderr.write(`the local stack failed to start:\n${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}

main();
