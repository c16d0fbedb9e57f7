import { spawn, type ChildProcess } from 'node:child_process';

export interface SpawnOptions {
  readonly cwd: string;
  /** Added to (and overriding) this process's environment. */
  readonly env?: Record<string, string>;
}

export interface LoggedProcess {
  readonly process: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /**
   * Resolves with the first output line matching `pattern`; rejects with the last output when
   * the time runs out or the process exits first.
   */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends `signal` (default SIGKILL) unless it has exited, and resolves once it has. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const TAIL = 3000;

export function spawnLogged(
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): LoggedProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const check of [...waiters]) check();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // 'close' comes after the last output was read: only then is "it never printed it" certain.
  let closed = false;
  child.once('close', () => {
    closed = true;
    for (const check of [...waiters]) check();
  });
  const describe = `${command} ${args.join(' ')}`;
  return {
    process: child,
    output: () => out,
    waitForLine(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `${describe}: no line matching ${pattern} within ${timeoutMs} ms; output:\n${out.slice(-TAIL)}`,
            ),
          );
        }, timeoutMs);
        function check(): void {
          const line = out.split('\n').find((l) => pattern.test(l));
          if (line === undefined && !closed) return;
          waiters.delete(check);
          clearTimeout(timer);
          if (line !== undefined) resolve(line);
          else
            reject(
              new Error(
                `${describe} exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}; output:\n${out.slice(-TAIL)}`,
              ),
            );
        }
        waiters.add(check);
        check();
      });
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/**
 * A TypeScript entry point in its own process: `node --import tsx <entry>`. Not the tsx CLI,
 * which forks a second process that SIGTERM and SIGKILL would miss.
 */
export function spawnTs(
  entry: string,
  options: SpawnOptions & { readonly tsconfig?: string },
): LoggedProcess {
  return spawnLogged(process.execPath, ['--import', 'tsx', entry], {
    cwd: options.cwd,
    env: {
      ...(options.tsconfig ? { TSX_TSCONFIG_PATH: options.tsconfig } : {}),
      ...options.env,
    },
  });
}
