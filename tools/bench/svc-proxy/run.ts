/**
 * Added latency and throughput of svc-proxy versus talking to the pod directly, measured side by
 * side in one run: each round runs the direct and the proxied case back to back, and the report
 * takes medians over rounds so a noisy neighbour hits both alike.
 *
 *   npx nx run svc-proxy:bench          (BENCH_SECONDS=5 BENCH_ROUNDS=3 by default)
 *
 * Processes: fake API server (this process, idle after the first list), the pod (child), svc-proxy
 * (child, started through its real main.ts) and autocannon (this process). All on 127.0.0.x.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, get as httpGet } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { sealData } from 'iron-session';
import {
  endpointSlice,
  FakeKubeApi,
  service,
} from '../../../apps/svc-proxy/test/support/fake-kube-api';
import { freePort } from '../../../apps/svc-proxy/test/support/harness';

const ROOT = path.resolve(__dirname, '../../..');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '5');
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? '3');
const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? '2000');
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? '16');
const SECRET = 'b'.repeat(48);
const POD_IP = '127.0.0.2';
/** Where the generated part of docs/benchmarks/svc-proxy.md ends and the kept history begins. */
const HISTORY_MARKER = '<!-- history: kept by run.ts -->';

interface Sample {
  p50: number;
  p99: number;
  rps: number;
  errors: number;
  /** CPU time the proxy process spent per request (ms), when measured. */
  cpuPerRequest: number;
  /** CPU the pod spent per request (ms). */
  podCpuPerRequest: number;
  /** CPU this process (autocannon; the fake API server is idle) spent per request (ms). */
  generatorCpuPerRequest: number;
}

/** The pod's pid, once started: its CPU is read around every load round. */
let podPid: number | undefined;

/** User + system CPU of a process in ms, from /proc (Linux); clock ticks are 10 ms. */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!child.stdout) return reject(new Error('no stdout'));
    const rl = createInterface(child.stdout);
    rl.once('line', (line) => {
      rl.close();
      resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
}

async function waitReady(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} never became ready`);
}

interface Latency {
  p50: number;
  p90: number;
  p99: number;
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });

function once(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = httpGet(url, { agent: keepAlive, headers }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`${url} answered ${res.statusCode}`));
        else resolve(Number(process.hrtime.bigint() - started) / 1e6);
      });
    });
    req.on('error', reject);
  });
}

/** Sequential requests: latency without queueing, i.e. what the proxy adds to each request. */
async function sequential(
  url: string,
  headers: Record<string, string>,
  count: number,
): Promise<Latency> {
  const xs: number[] = [];
  for (let i = 0; i < count; i++) xs.push(await once(url, headers));
  xs.sort((a, b) => a - b);
  const at = (q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

async function load(
  url: string,
  connections: number,
  seconds: number,
  headers: Record<string, string> = {},
  cpuOf?: number,
): Promise<Sample> {
  const cpuBefore = cpuMs(cpuOf);
  const podBefore = cpuMs(podPid);
  const generatorBefore = process.cpuUsage();
  const result = await autocannon({ url, connections, duration: seconds, headers });
  const generator = process.cpuUsage(generatorBefore);
  const cpu = cpuMs(cpuOf) - cpuBefore;
  const requests = Math.max(1, result.requests.total);
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: result.requests.average,
    errors: result.errors + result.non2xx,
    cpuPerRequest: cpu / requests,
    podCpuPerRequest: (cpuMs(podPid) - podBefore) / requests,
    generatorCpuPerRequest: (generator.user + generator.system) / 1000 / requests,
  };
}

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0] ?? 0;
  const kube = new FakeKubeApi();
  await kube.start();
  const pod = spawn(
    process.execPath,
    // tsx as a loader in the pod process itself (its CLI would fork): its CPU is then readable.
    ['--import', 'tsx', path.join(__dirname, 'pod.ts'), POD_IP, '0'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, TSX_TSCONFIG_PATH: path.join(ROOT, 'apps/svc-proxy/tsconfig.json') },
    },
  );
  const { port: podPort } = JSON.parse(await firstLine(pod)) as { port: number };
  podPid = pod.pid;
  kube.apply(
    'services',
    service('bench', 'app', {
      annotation: String(podPort),
      ports: [{ name: 'http', port: podPort }],
    }),
  );
  kube.apply(
    'endpointslices',
    endpointSlice(
      'bench',
      'app',
      [{ pod: 'bench-0', ip: POD_IP, node: 'local' }],
      [{ name: 'http', port: podPort }],
    ),
  );

  const dir = mkdtempSync(path.join(tmpdir(), 'svc-proxy-bench-'));
  const kubeconfig = path.join(dir, 'kubeconfig.json');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: kube.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'bench', user: { token: 'fake-token' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'bench' } }],
      'current-context': 'fake',
    }),
  );
  const proxyPort = await freePort();
  const proxy = spawn(
    process.execPath,
    [
      // BENCH_CPU_PROF=<dir>: write a CPU profile of the proxy there (on its clean shutdown).
      ...(process.env['BENCH_CPU_PROF']
        ? ['--cpu-prof', '--cpu-prof-dir', process.env['BENCH_CPU_PROF']]
        : []),
      // tsx as a loader in this very process (not its CLI, which forks): signals and profiles
      // then reach the proxy itself.
      '--import',
      'tsx',
      path.join(ROOT, 'apps/svc-proxy/src/main.ts'),
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        PORT: String(proxyPort),
        HOST: '127.0.0.1',
        PUBLIC_URL: `http://127.0.0.1:${proxyPort}`,
        INSECURE_COOKIE: 'true',
        GOOGLE_CLIENT_ID: 'bench',
        GOOGLE_CLIENT_SECRET: 'bench',
        ALLOWED_EMAILS: 'bench@example.com',
        COOKIE_SECRET: SECRET,
        KUBE_SOURCE: 'kubeconfig',
        KUBECONFIG: kubeconfig,
        LOG_LEVEL: 'info',
        TSX_TSCONFIG_PATH: path.join(ROOT, 'apps/svc-proxy/tsconfig.json'),
      },
    },
  );
  // The floor beside it: the least a Node proxy does per request (bare-proxy.ts: node:http server,
  // keep-alive node:http agent, both bodies piped; no sign-in, header policy or audit line).
  const barePort = await freePort();
  const bare = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(__dirname, 'bare-proxy.ts'),
      POD_IP,
      String(podPort),
      String(barePort),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await firstLine(bare);
  const stopAll = () => {
    proxy.kill('SIGTERM');
    pod.kill('SIGTERM');
    bare.kill('SIGTERM');
  };
  const proxyExited = new Promise((resolve) => proxy.once('exit', resolve));
  process.on('exit', stopAll);
  const proxyUrl = `http://127.0.0.1:${proxyPort}`;
  await waitReady(`${proxyUrl}/readyz`);

  // The benchmark measures proxying, not sign-in: it seals a session cookie with the proxy's secret.
  const cookie = `_svc_proxy=${await sealData(
    {
      user: { sid: 'bench', subject: 'bench', email: 'bench@example.com', signedInAt: Date.now() },
    },
    { password: { '1': SECRET }, ttl: 3600 },
  )}`;
  const direct = `http://${POD_IP}:${podPort}`;
  const proxied = `${proxyUrl}/proxy/bench/app/bench-0`;
  const floor = `http://127.0.0.1:${barePort}`;
  const check = await fetch(`${proxied}/debug/vars`, { headers: { cookie } });
  if (check.status !== 200) throw new Error(`proxy answered ${check.status}`);

  const scenarios = [
    { name: '/debug/vars (JSON, streamed)', path: '/debug/vars' },
    { name: '/debug/pprof/ (HTML, rewritten)', path: '/debug/pprof/' },
  ];
  const rows: { latency: string[]; load: string[]; floor: string[]; costs: string[] } = {
    latency: [],
    load: [],
    floor: [],
    costs: [],
  };
  const summary: string[] = [];
  const ms = (x: number) => x.toFixed(3);
  for (const scenario of scenarios) {
    const d = { url: `${direct}${scenario.path}`, headers: {} };
    const p = { url: `${proxied}${scenario.path}`, headers: { cookie } };
    // Warm-up: JIT, keep-alive connections, the proxy's seal cache.
    await sequential(d.url, d.headers, 200);
    await sequential(p.url, p.headers, 200);
    const dl: Latency[] = [];
    const pl: Latency[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      dl.push(await sequential(d.url, d.headers, REQUESTS));
      pl.push(await sequential(p.url, p.headers, REQUESTS));
    }
    const lm = (xs: Latency[], k: keyof Latency) => median(xs.map((x) => x[k]));
    rows.latency.push(
      `| ${scenario.name} | ${ms(lm(dl, 'p50'))} / ${ms(lm(dl, 'p99'))} | ${ms(lm(pl, 'p50'))} / ${ms(lm(pl, 'p99'))} | ` +
        `+${ms(lm(pl, 'p50') - lm(dl, 'p50'))} / +${ms(lm(pl, 'p99') - lm(dl, 'p99'))} | ${(lm(pl, 'p50') / lm(dl, 'p50')).toFixed(1)}× |`,
    );
    process.stderr.write(`${rows.latency[rows.latency.length - 1]}\n`);

    const b = { url: `${floor}${scenario.path}` };
    await load(d.url, CONNECTIONS, 1);
    await load(p.url, CONNECTIONS, 1, p.headers);
    await load(b.url, CONNECTIONS, 1);
    const dt: Sample[] = [];
    const pt: Sample[] = [];
    const bt: Sample[] = [];
    // The same connections and duration for all three, alternating within each round.
    for (let round = 0; round < ROUNDS; round++) {
      dt.push(await load(d.url, CONNECTIONS, SECONDS));
      pt.push(await load(p.url, CONNECTIONS, SECONDS, p.headers, proxy.pid));
      bt.push(await load(b.url, CONNECTIONS, SECONDS, {}, bare.pid));
    }
    const m = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => x[k]));
    const errors = [...dt, ...pt].reduce((n, x) => n + x.errors, 0);
    rows.floor.push(
      `| ${scenario.name} | ${Math.round(m(dt, 'rps'))} | ${Math.round(m(bt, 'rps'))} | ${(m(bt, 'rps') / m(dt, 'rps')).toFixed(3)} | ` +
        `${m(bt, 'p50')} / ${m(bt, 'p99')} | ${m(bt, 'cpuPerRequest').toFixed(3)} | ${Math.round(m(pt, 'rps'))} | ${(m(pt, 'rps') / m(bt, 'rps')).toFixed(2)} |`,
    );
    process.stderr.write(`${rows.floor[rows.floor.length - 1]}\n`);
    const cost = (xs: Sample[], k: 'podCpuPerRequest' | 'generatorCpuPerRequest') =>
      m(xs, k).toFixed(3);
    rows.costs.push(
      `| ${scenario.name} | ${cost(dt, 'podCpuPerRequest')} / ${cost(pt, 'podCpuPerRequest')} / ${cost(bt, 'podCpuPerRequest')} | ` +
        `${cost(dt, 'generatorCpuPerRequest')} / ${cost(pt, 'generatorCpuPerRequest')} / ${cost(bt, 'generatorCpuPerRequest')} | ` +
        `${m(pt, 'cpuPerRequest').toFixed(3)} / ${m(bt, 'cpuPerRequest').toFixed(3)} |`,
    );
    summary.push(
      `${scenario.path} adds ${ms(lm(pl, 'p50') - lm(dl, 'p50'))} ms at p50 and tops out at ` +
        `${Math.round(m(pt, 'rps'))} req/s through the proxy against ${Math.round(m(dt, 'rps'))} direct`,
    );
    rows.load.push(
      `| ${scenario.name} | ${Math.round(m(dt, 'rps'))} | ${Math.round(m(pt, 'rps'))} | ${(m(pt, 'rps') / m(dt, 'rps')).toFixed(3)} | ` +
        `${m(dt, 'p50')} / ${m(dt, 'p99')} | ${m(pt, 'p50')} / ${m(pt, 'p99')} | ${m(pt, 'cpuPerRequest').toFixed(3)} | ${errors} |`,
    );
    process.stderr.write(`${rows.load[rows.load.length - 1]}\n`);
  }
  stopAll();
  await proxyExited;
  await kube.stop();

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const report = `# svc-proxy benchmark

What svc-proxy adds on top of requesting the same (fake, Node-based, very fast) Go-style pod
directly: session check (cached seal), route lookup in the informer cache, the request-header
allow-list and the response-header policy, one audit log line, and for \`text/html\` buffering
plus link rewriting with parse5.

Command: \`npx nx run svc-proxy:bench\` (= \`tsx --tsconfig apps/svc-proxy/tsconfig.json tools/bench/svc-proxy/run.ts\`)
with BENCH_ROUNDS=${ROUNDS}, BENCH_REQUESTS=${REQUESTS}, BENCH_SECONDS=${SECONDS}, BENCH_CONNECTIONS=${CONNECTIONS}.
svc-proxy runs as its own process through its real \`main.ts\` (LOG_LEVEL=info, output to /dev/null),
the pod in another, the floor (\`bare-proxy.ts\`) in a third; a fake API server feeds the informers.
Traffic is on 127.0.0.x only.

Machine: ${cpus().length} × ${cpu}, Node ${process.version}; 1-minute load average ${loadAtStart.toFixed(1)} at
the start and ${(loadavg()[0] ?? 0).toFixed(1)} at the end of the run. Shared and noisy: compare the columns of one
row (direct, proxied and the floor are measured alternately in each round, medians over ${ROUNDS} rounds),
not separate runs. Load generator, proxy and pod share the 2 cores.

## Added latency, one request at a time

${REQUESTS} sequential requests per round over a keep-alive connection, timed with \`process.hrtime\`.
Milliseconds, median over rounds of each round's percentile.

| path | direct p50 / p99 | proxied p50 / p99 | added p50 / p99 | p50 ratio |
|---|---|---|---|---|
${rows.latency.join('\n')}

## Throughput under load

autocannon, ${CONNECTIONS} connections, ${SECONDS} s per round; requests/s medians over rounds. autocannon's
latencies have 1 ms resolution.

| path | direct req/s | proxied req/s | proxied / direct | direct p50 / p99 ms | proxied p50 / p99 ms | proxy CPU ms / request | non-2xx + errors |
|---|---|---|---|---|---|---|---|
${rows.load.join('\n')}

The floor in the same rounds: \`tools/bench/svc-proxy/bare-proxy.ts\`, a Node proxy that does nothing
but relay (node:http server and keep-alive agent, both bodies piped), against the same pod with
the same connections and duration.

| path | direct req/s | bare proxy req/s | bare / direct | bare p50 / p99 ms | bare CPU ms / request | svc-proxy req/s | svc-proxy / bare |
|---|---|---|---|---|---|---|---|
${rows.floor.join('\n')}

What each process spends per request in the same rounds, direct / through svc-proxy / through the
floor (CPU ms from \`/proc/<pid>/stat\` in 10 ms ticks and \`process.cpuUsage\`, medians over rounds):
every process of the chain shares the same 2 cores, so this is where a proxied request's CPU goes.

| path | pod | load generator (autocannon) | svc-proxy / floor proxy |
|---|---|---|---|
${rows.costs.join('\n')}

Reading: ${summary.join('; ')}. The fake pod answers far faster than real Go debug handlers
(a heap profile or \`/debug/pprof/\` index costs milliseconds), so the ratios overstate the share the
proxy takes in practice. Profile the proxy with \`BENCH_CPU_PROF=<dir>\`.

Generated ${new Date().toISOString()}.
`;
  // Everything from the history marker on is kept: earlier runs and what changed between them.
  const docPath = path.join(ROOT, 'docs/benchmarks/svc-proxy.md');
  let history = '';
  try {
    const previous = readFileSync(docPath, 'utf8');
    const at = previous.indexOf(HISTORY_MARKER);
    if (at !== -1) history = `\n${previous.slice(at)}`;
  } catch {
    // no earlier report
  }
  writeFileSync(docPath, report + history);
  process.stdout.write(report);
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
