import { spawn, type ChildProcess } from 'node:child_process';
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

  constructor(env: Record<string, string>) {
    this.child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'tools/local-stack/src/main.ts')],
      {
        cwd: ROOT,
        // As `npm start` runs it: tsx finds the root tsconfig.json (and the @conveyor/* aliases).
        env: { ...withoutTsxTsconfig(process.env), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
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
