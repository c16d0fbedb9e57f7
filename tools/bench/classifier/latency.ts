// HTTP latency of one 512-token request for several model directories (any kind: T5, TF-IDF,
// ensemble), measured side by side: each model gets its own server, and the models take turns in
// blocks of 10 requests, so a change in machine load hits all of them alike. Prints p50/p95/p99
// wall time, the median CPU time per request (this process: server and client, which share it)
// and the load average before and after, which every figure needs on this shared machine.
// Usage: npx tsx --tsconfig tools/bench/classifier/tsconfig.json tools/bench/classifier/latency.ts \
//          --model apps/classifier/model --model apps/classifier/model-ensemble [--runs 60]
import { loadavg } from 'node:os';
import { Command } from 'commander';
import { configFrom } from '../../../apps/classifier/src/config';
import { start } from '../../../apps/classifier/src/main';
import { loadClassifier } from '../../../apps/classifier/src/model/load-classifier';
import { median, percentile } from './stats';

const opts = new Command()
  .requiredOption('--model <dir...>', 'model directories to compare')
  .option('--runs <n>', 'requests per model', (v) => Number(v), 60)
  .parse()
  .opts<{ model: string[]; runs: number }>();

// The same input as bench.ts: 1,400 words, far more than the 256 + 256 tokens a window keeps.
const longText = Array.from({ length: 700 }, (_, i) => `token${i % 97} word${i % 13}`).join(' ');

async function main(): Promise<void> {
  const servers = [];
  for (const dir of opts.model) {
    const model = await loadClassifier(dir);
    const server = await start(
      configFrom({ PORT: 0, LOG_LEVEL: 'silent', BATCH_MAX_SIZE: 16, BATCH_WAIT_MS: 5 }),
      { model, handleSignals: false },
    );
    await server.service.ready;
    servers.push({ dir, server, latencies: [] as number[], cpu: [] as number[] });
  }
  const post = async (url: string): Promise<void> => {
    const res = await fetch(`${url}/v1/classify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'question title', body: longText }),
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    await res.json();
  };
  for (const s of servers) await post(s.server.url); // warm-up
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  console.log(`${new Date().toISOString()} load average ${load()}`);
  for (let done = 0; done < opts.runs; done += 10) {
    for (const s of servers) {
      for (let i = 0; i < 10 && done + i < opts.runs; i++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await post(s.server.url);
        s.latencies.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        s.cpu.push((c.user + c.system) / 1000);
      }
    }
  }
  console.log(`${new Date().toISOString()} load average ${load()}`);
  console.log(
    '| model | requests | p50 (ms) | p95 (ms) | p99 (ms) | CPU per request, median (ms) |\n| --- | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const s of servers) {
    const cells = [
      median(s.latencies),
      percentile(s.latencies, 95),
      percentile(s.latencies, 99),
      median(s.cpu),
    ].map((x) => x.toFixed(1));
    console.log(`| \`${s.dir}\` | ${s.latencies.length} | ${cells.join(' | ')} |`);
  }
  for (const s of servers) await s.server.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
