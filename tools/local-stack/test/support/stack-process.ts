import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

export { freePort } from '@conveyor/test-support';

export const ROOT = join(__dirname, '..', '..', '..', '..');

function withoutTsxTsconfig(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { TSX_TSCONFIG_PATH: _ignored, ...rest } = env;
  return rest;
}

/**
 * `npm start`'s command in a child process (node --import tsx, as the start script runs it),
 * with its output collected so a failure shows what the stack said.
 */
export class StackProcess {
  readonly child: ChildProcess;
  private out = '';

  /**
   * `via: 'npm'` runs `npm start` itself (npm → the launcher), to signal npm alone as an IDE or a
   * supervisor does; otherwise the launcher's command directly.
   */
  constructor(env: Record<string, string>, options: { via?: 'npm' } = {}) {
    const [command, args] =
      options.via === 'npm'
        ? ['npm', ['start', '--silent']]
        : [process.execPath, ['--import', 'tsx', join(ROOT, 'tools/local-stack/src/main.ts')]];
    this.child = spawn(command, args, {
      cwd: ROOT,
      // As `npm start` runs it: tsx finds the root tsconfig.json (and the @conveyor/* aliases).
      env: { ...withoutTsxTsconfig(process.env), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (chunk: Buffer) => (this.out += chunk.toString()));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.out += chunk.toString()));
  }

  get output(): string {
    return this.out;
  }

  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.out);
      if (match) return match;
      if (this.child.exitCode !== null)
        throw new Error(
          `the stack exited with ${this.child.exitCode} before printing ${pattern}:\n${this.out.slice(-4000)}`,
        );
      if (Date.now() > deadline)
        throw new Error(`no ${pattern} after ${timeoutMs} ms:\n${this.out.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Resolves with the exit code once the process exits by itself (SIGKILL after timeoutMs). */
  async exited(timeoutMs: number): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    const exit = new Promise<number | null>((resolve) =>
      this.child.once('exit', (code) => resolve(code)),
    );
    const timer = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), timeoutMs).unref(),
    );
    const result = await Promise.race([exit, timer]);
    if (result === 'timeout') {
      this.child.kill('SIGKILL');
      throw new Error(`the stack did not exit within ${timeoutMs} ms:\n${this.out.slice(-4000)}`);
    }
    return result;
  }

  /** Sends a signal and resolves with the exit code (null if killed by a signal). */
  async signal(signal: NodeJS.Signals, timeoutMs: number): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((resolve) =>
      this.child.once('exit', (code) => resolve(code)),
    );
    this.child.kill(signal);
    const timer = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), timeoutMs).unref(),
    );
    const result = await Promise.race([exited, timer]);
    if (result === 'timeout') {
      this.child.kill('SIGKILL');
      throw new Error(
        `the stack did not exit within ${timeoutMs} ms of ${signal}:\n${this.out.slice(-4000)}`,
      );
    }
    return result;
  }
}

/** The pids of a process's children (Linux: /proc), e.g. the launcher under `npm start`. */
export function childPids(pid: number): number[] {
  const tasks = readdirSync(`/proc/${pid}/task`);
  return tasks.flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number),
  );
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when nothing accepts connections on 127.0.0.1:port. */
export function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
