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
import { writeFileSync, mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
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
const SECRET = 'b'.repeat(48);
const POD_IP = '127.0.0.2';

interface Sample {
  p50: number;
  p99: number;
  rps: number;
  errors: number;
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

async function load(
  url: string,
  connections: number,
  seconds: number,
  headers: Record<string, string> = {},
): Promise<Sample> {
  const result = await autocannon({ url, connections, duration: seconds, headers });
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: result.requests.average,
    errors: result.errors + result.non2xx,
  };
}

async function main(): Promise<void> {
  const kube = new FakeKubeApi();
  await kube.start();
  const pod = spawn(
    process.execPath,
    [require.resolve('tsx/cli'), path.join(__dirname, 'pod.ts'), POD_IP, '0'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const { port: podPort } = JSON.parse(await firstLine(pod)) as { port: number };
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
  const stopAll = () => {
    proxy.kill('SIGTERM');
    pod.kill('SIGTERM');
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
  const check = await fetch(`${proxied}/debug/vars`, { headers: { cookie } });
  if (check.status !== 200) throw new Error(`proxy answered ${check.status}`);

  const scenarios = [
    { name: '/debug/vars (JSON, streamed)', path: '/debug/vars' },
    { name: '/debug/pprof/ (HTML, rewritten)', path: '/debug/pprof/' },
  ];
  const loads = [
    { name: '1 connection', connections: 1 },
    { name: '16 connections', connections: 16 },
  ];
  const rows: string[] = [];
  for (const scenario of scenarios) {
    for (const l of loads) {
      await load(`${direct}${scenario.path}`, l.connections, 1);
      await load(`${proxied}${scenario.path}`, l.connections, 1, { cookie });
      const d: Sample[] = [];
      const p: Sample[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        d.push(await load(`${direct}${scenario.path}`, l.connections, SECONDS));
        p.push(await load(`${proxied}${scenario.path}`, l.connections, SECONDS, { cookie }));
      }
      const m = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => x[k]));
      const errors = [...d, ...p].reduce((n, s) => n + s.errors, 0);
      rows.push(
        `| ${scenario.name} | ${l.name} | ${m(d, 'p50').toFixed(2)} / ${m(d, 'p99').toFixed(2)} | ${m(p, 'p50').toFixed(2)} / ${m(p, 'p99').toFixed(2)} | ` +
          `+${(m(p, 'p50') - m(d, 'p50')).toFixed(2)} / +${(m(p, 'p99') - m(d, 'p99')).toFixed(2)} | ${Math.round(m(d, 'rps'))} | ${Math.round(m(p, 'rps'))} | ${(m(p, 'rps') / m(d, 'rps')).toFixed(2)} | ${errors} |`,
      );
      process.stderr.write(`${rows[rows.length - 1]}\n`);
    }
  }
  stopAll();
  await proxyExited;
  await kube.stop();

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const report = `# svc-proxy benchmark

Added latency and throughput of svc-proxy (session check, route lookup, header rewriting, audit
log line, HTML link rewriting for \`text/html\`) versus requesting the same fake Go pod directly.

Command: \`npx nx run svc-proxy:bench\` (= \`npx tsx tools/bench/svc-proxy/run.ts\`), with
BENCH_SECONDS=${SECONDS} and BENCH_ROUNDS=${ROUNDS}. Each round runs the direct case and then the proxied case
for ${SECONDS} s each with autocannon; the table shows the median over ${ROUNDS} rounds. Latencies in ms.

Machine: ${cpus().length} × ${cpu}, Node ${process.version}; shared and noisy, so compare the columns of one
row (measured side by side), not runs with each other. Load generator, proxy and pod share the 2 cores.
svc-proxy logs at LOG_LEVEL=info (one audit line per request) to /dev/null.

| path | load | direct p50 / p99 | proxied p50 / p99 | added p50 / p99 | direct req/s | proxied req/s | throughput ratio | errors |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Generated ${new Date().toISOString()}.
`;
  writeFileSync(path.join(ROOT, 'docs/benchmarks/svc-proxy.md'), report);
  process.stdout.write(report);
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
