import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * podman as this kind of machine needs it: crun refuses the host's hybrid cgroup layout
 * ("cgroups in hybrid mode not supported"), so runc with the cgroupfs manager; nothing is ever
 * pulled (no registry is reachable).
 */
export const PODMAN_GLOBAL = ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs'];

/** Every container and build of a run carries this label, so cleanup finds exactly ours. */
export const RUN_LABEL = 'dev.conveyor.images-check';

let cachedUlimits: string[] | undefined;

/**
 * podman's default ulimits exceed this machine's hard limits ("error setting rlimit type 7:
 * operation not permitted"): ask for what the shell may have, capped (runc also refused a
 * process limit far above what any pod needs).
 */
export function ulimitArgs(): string[] {
  if (cachedUlimits) return cachedUlimits;
  const [nofile = '1024', nproc = '4096'] = execFileSync('bash', ['-c', 'ulimit -Hn; ulimit -Hu'], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n');
  const cap = (value: string, max: number) =>
    value === 'unlimited' ? max : Math.min(Number(value), max);
  const n = cap(nofile, 65_536);
  const p = cap(nproc, 32_768);
  cachedUlimits = ['--ulimit', `nofile=${n}:${n}`, '--ulimit', `nproc=${p}:${p}`];
  return cachedUlimits;
}

export async function podman(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('podman', [...PODMAN_GLOBAL, ...args], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(
      `podman ${args.slice(0, 2).join(' ')} failed: ${(e.stderr ?? e.message).trim()}`,
    );
  }
}

/** A long podman command (a build) at low CPU priority, its output into `onLine`. */
export function podmanNiced(
  args: readonly string[],
  onLine: (line: string) => void,
): Promise<{ code: number; tail: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn('nice', ['-n', '10', 'podman', ...PODMAN_GLOBAL, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    const take = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        onLine(line);
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, tail }));
  });
}

export async function imageExists(image: string): Promise<boolean> {
  try {
    await podman(['image', 'exists', image]);
    return true;
  } catch {
    return false;
  }
}

export async function imageSize(image: string): Promise<number> {
  return Number((await podman(['image', 'inspect', '--format', '{{.Size}}', image])).trim());
}

/** The last lines a container wrote (stdout and stderr), for failure reports. */
export async function containerLogs(name: string, lines = 40): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(
      'podman',
      [...PODMAN_GLOBAL, 'logs', '--tail', String(lines), name],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    return `${stdout}${stderr}`.trimEnd();
  } catch (error) {
    return `(no logs: ${(error as Error).message})`;
  }
}

export async function containerState(
  name: string,
): Promise<{ running: boolean; exitCode: number; oomKilled: boolean }> {
  const out = await podman([
    'inspect',
    '--format',
    '{{.State.Running}} {{.State.ExitCode}} {{.State.OOMKilled}}',
    name,
  ]);
  const [running, exitCode, oom] = out.trim().split(' ');
  return { running: running === 'true', exitCode: Number(exitCode), oomKilled: oom === 'true' };
}

/** Removes every container this check started (by label), running or not. */
export async function removeLabelledContainers(runId?: string): Promise<string[]> {
  const filter = runId ? `label=${RUN_LABEL}=${runId}` : `label=${RUN_LABEL}`;
  const names = (await podman(['ps', '-a', '--filter', filter, '--format', '{{.Names}}']))
    .split('\n')
    .filter(Boolean);
  // --volumes: the anonymous volumes of the images' VOLUME go too.
  if (names.length > 0) await podman(['rm', '--force', '--volumes', '--time', '10', ...names]);
  return names;
}
