import { spawn, type ChildProcess } from 'node:child_process';

const TAIL = 4000;

/**
 * The worker under test: `sh -c <command>` in its own process group, so that a signal reaches the
 * real worker even behind `npx`, `tsx` or a shell script that forks it.
 */
export class WorkerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private out = '';
  private starts = 0;

  constructor(
    private readonly command: string,
    private readonly cwd: string,
    private readonly env: Readonly<Record<string, string>>,
  ) {}

  start(): void {
    if (this.alive()) throw new Error('the worker is already running');
    this.starts++;
    this.out += `\n--- start #${this.starts}: ${this.command}\n`;
    const child = spawn('sh', ['-c', this.command], {
      cwd: this.cwd,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const onData = (chunk: Buffer) => {
      this.out = (this.out + chunk.toString()).slice(-50_000);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.out += `\n--- exited (${code ?? signal})\n`;
        resolve();
      }),
    );
    this.child = child;
  }

  alive(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  exitCode(): number | null {
    return this.child?.exitCode ?? null;
  }

  /** Sends `signal` to the worker's whole process group. */
  signal(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined || !this.alive()) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone between the check and the kill.
    }
  }

  /** Resolves once the worker has exited, or false after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<boolean> {
    if (!this.alive()) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([this.exited.then(() => true), timedOut]);
    clearTimeout(timer);
    return result;
  }

  /** SIGKILL to the process group, and waits until it has exited. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    this.signal('SIGTERM');
    if (!(await this.waitForExit(graceMs))) await this.kill();
  }

  /** The last of what it printed, for failure messages. */
  tail(chars = TAIL): string {
    return this.out.slice(-chars);
  }
}
