import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { WORKSPACE_ROOT } from './manifests';

export interface HostWorker {
  readonly name: string;
  readonly child: ChildProcess;
  output(): string;
}

/**
 * The README workflow's other steps (ocr, split-documents, notify-failure, extract-fields) have
 * no image: they are the example's workers "in any language", run here as host processes on the
 * same broker vhost. `classify` is left to the classifier-worker pod (WITH_CLASSIFY=false).
 */
export function startExampleWorkers(amqpUrl: string, env: Record<string, string>): HostWorker[] {
  const start = (name: string, command: string, args: string[]): HostWorker => {
    const child = spawn(command, args, {
      cwd: WORKSPACE_ROOT,
      env: { ...process.env, ...env, AMQP_URL: amqpUrl, WITH_CLASSIFY: 'false', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const keep = (c: Buffer) => {
      out = (out + c.toString('utf8')).slice(-8000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    return { name, child, output: () => out };
  };
  return [
    start('example TypeScript workers', path.join(WORKSPACE_ROOT, 'node_modules/.bin/tsx'), [
      '--tsconfig',
      'examples/document-processing/tsconfig.json',
      'examples/document-processing/src/workers.ts',
    ]),
    start('example Python extract-fields worker', '/usr/bin/python3', [
      'examples/document-processing/python/worker.py',
    ]),
  ];
}

export async function stopHostWorkers(workers: readonly HostWorker[]): Promise<void> {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
          const force = setTimeout(() => w.child.kill('SIGKILL'), 10_000);
          w.child.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          w.child.kill('SIGTERM');
        }),
    ),
  );
}

/** A worker that died is a failure of the check, with its last output. */
export function deadWorker(workers: readonly HostWorker[]): string | undefined {
  const dead = workers.find((w) => w.child.exitCode !== null);
  return dead
    ? `${dead.name} exited with code ${dead.child.exitCode}:\n${dead.output().slice(-2000)}`
    : undefined;
}
