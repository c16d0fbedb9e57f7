import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Per-link gaps and whole-run times (ms) of sequential chains. */
export interface ChainSamples {
  readonly gaps: number[];
  readonly runs: number[];
}

/**
 * The Celery side of the benchmark (celery_bench.py and its own prefork worker) as a process
 * that answers one command at a time, so that Celery chains can be measured in blocks
 * interleaved with Conveyor's: on a shared 2-core machine whose speed drifts from minute to
 * minute, only measurements taken side by side compare.
 */
export class CeleryPeer {
  private readonly lines: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  private stderr = '';
  private exited = false;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly version: string,
  ) {}

  static async start(env: Record<string, string>): Promise<CeleryPeer> {
    const child = spawn('/usr/bin/python3', [join(__dirname, 'celery_bench.py')], {
      env: { ...process.env, ...env },
    });
    const peer = new CeleryPeer(child, '');
    child.stderr.on('data', (chunk: Buffer) => {
      peer.stderr = (peer.stderr + chunk.toString()).slice(-3000);
    });
    createInterface({ input: child.stdout }).on('line', (line) => peer.onLine(line));
    child.once('exit', () => {
      peer.exited = true;
      peer.onLine('');
    });
    const hello = JSON.parse(await peer.nextLine(120_000)) as { celery: string };
    return Object.assign(peer, { version: hello.celery });
  }

  chains(n: number): Promise<ChainSamples> {
    return this.ask(`chain ${n}`);
  }

  work(n: number, ms: number): Promise<ChainSamples> {
    return this.ask(`work ${n} ${ms}`);
  }

  async chord(size: number): Promise<number> {
    return (await this.ask<{ ms: number }>(`chord ${size}`)).ms;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    this.child.stdin.end('quit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await gone;
    clearTimeout(timer);
  }

  private async ask<T>(command: string): Promise<T> {
    this.child.stdin.write(`${command}\n`);
    return JSON.parse(await this.nextLine(600_000)) as T;
  }

  private onLine(line: string): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting(line);
    else if (!this.exited) this.lines.push(line);
  }

  private nextLine(timeoutMs: number): Promise<string> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const fail = (why: string) =>
        reject(new Error(`celery_bench.py ${why}; its stderr:\n${this.stderr}`));
      if (this.exited) return fail('exited');
      const timer = setTimeout(() => fail(`did not answer within ${timeoutMs} ms`), timeoutMs);
      this.waiting = (line) => {
        clearTimeout(timer);
        if (this.exited) fail('exited');
        else resolve(line);
      };
    });
  }
}
