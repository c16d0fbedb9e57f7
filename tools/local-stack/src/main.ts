// `npm start`: the whole stack in one process on embedded defaults (see README.md here).
import { banner } from './banner';
import { settingsFromEnv, SettingsError, type LocalStackSettings } from './settings';
import { startLocalStack, type RunningStack } from './stack';

function handleSignals(stack: RunningStack): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stdout.write(`${signal} again: exiting without waiting for the rest of the shutdown\n`);
      process.exit(1);
    }
    stopping = true;
    process.stdout.write(`${signal}: stopping every service (again to force)\n`);
    void stack.stop().then(({ clean, failures }) => {
      for (const failure of failures) process.stderr.write(`  ${failure}\n`);
      process.stdout.write(clean ? 'local stack stopped cleanly\n' : 'local stack stopped with problems (above)\n');
      process.exit(clean ? 0 : 1);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

async function main(): Promise<void> {
  let settings: LocalStackSettings;
  try {
    settings = settingsFromEnv();
  } catch (error) {
    process.stderr.write(`${error instanceof SettingsError ? error.message : String(error)}\n`);
    process.exit(2);
  }
  process.stdout.write('starting the Conveyor local stack (the first start builds the checkers bundles)…\n');
  let stack: RunningStack;
  try {
    stack = await startLocalStack(settings);
  } catch (error) {
    process.stderr.write(`the local stack failed to start: ${(error as Error).message}\n`);
    process.exit(1);
  }
  handleSignals(stack);
  process.stdout.write(banner(stack, settings));
}

void main();
