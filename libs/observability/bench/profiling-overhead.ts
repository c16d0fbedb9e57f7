// What a running profile costs a service (libs/observability/README.md "Profiling overhead"):
// the CPU of an idle and of a busy service (autocannon, 8 connections) over the same window
// without and with a CPU profile running, and the busy service without the heap sampler.
// Run: npx tsx libs/observability/bench/profiling-overhead.ts [seconds per run = 8] [rounds = 3]
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import autocannon from 'autocannon';

const seconds = Number(process.argv[2] ?? 8);
const rounds = Number(process.argv[3] ?? 3);

async function startService(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'profiled-service.ts')],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /PORT=(\d+)/.exec(out);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    child.once('exit', (code) => reject(new Error(`service exited with ${code}`)));
  });
  return { child, url };
}

const cpuMicros = async (url: string) =>
  ((await (await fetch(`${url}/cpu`)).json()) as { cpuMicros: number }).cpuMicros;

interface Run {
  cpuMs: number;
  requests: number;
}

async function measure(url: string, busy: boolean, profile: boolean): Promise<Run> {
  const before = await cpuMicros(url);
  const profiling = profile
    ? fetch(`${url}/debug/pprof/profile?seconds=${seconds}`).then((r) => r.arrayBuffer())
    : undefined;
  let requests = 0;
  if (busy) {
    const result = await autocannon({ url: `${url}/work`, connections: 8, duration: seconds });
    requests = result.requests.total;
  } else {
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }
  await profiling;
  const after = await cpuMicros(url);
  return { cpuMs: (after - before) / 1000, requests };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

function line(what: string, runs: Run[]) {
  const cpuPerSecond = median(runs.map((r) => r.cpuMs / seconds));
  const busy = runs.every((r) => r.requests > 0);
  const perRequest = busy
    ? `, ${median(runs.map((r) => r.cpuMs / r.requests)).toFixed(3)} ms CPU/request, ${Math.round(median(runs.map((r) => r.requests)) / seconds)} requests/s`
    : '';
  const each = runs.map((r) =>
    r.requests > 0 ? (r.cpuMs / r.requests).toFixed(3) : (r.cpuMs / seconds).toFixed(1),
  );
  console.log(
    `${what.padEnd(34)} ${cpuPerSecond.toFixed(1).padStart(6)} ms CPU/s${perRequest}  (runs: ${each.join(' ')})`,
  );
}

async function main() {
  console.log(
    `${rounds} rounds of ${seconds} s runs taking turns; medians; CPU = the service process's user + system time`,
  );
  const withHeap = await startService({ HEAP_SAMPLING: '1' });
  const noHeap = await startService({ HEAP_SAMPLING: '0' });
  const runs: Record<string, Run[]> = {};
  const record = (name: string, run: Run) => (runs[name] ??= []).push(run);
  try {
    await measure(withHeap.url, true, false); // warm-up: JIT, connection pools
    await measure(noHeap.url, true, false);
    for (let round = 0; round < rounds; round++) {
      record('idle', await measure(withHeap.url, false, false));
      record('idle, CPU profile running', await measure(withHeap.url, false, true));
      record('busy', await measure(withHeap.url, true, false));
      record('busy, CPU profile running', await measure(withHeap.url, true, true));
      record('busy, no heap sampler', await measure(noHeap.url, true, false));
    }
    for (const [name, list] of Object.entries(runs)) line(name, list);
  } finally {
    withHeap.child.kill('SIGTERM');
    noHeap.child.kill('SIGTERM');
  }
}

void main();
