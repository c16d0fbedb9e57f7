/**
 * Bus round-trip latency and throughput, embedded vs RabbitMQ, measured side by side: rounds
 * alternate between the transports so machine noise hits both alike.
 * Usage: npx nx run bus:bench   (= tsx tools/bench/bus/bench.ts --write)
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { Command } from 'commander';
import {
  median,
  percentile,
  runRound,
  type BenchConfig,
  type RoundResult,
  type TransportName,
} from './bench-core';

const program = new Command()
  .option('--rounds <n>', 'rounds per transport (alternating)', '3')
  .option('--round-trips <n>', 'sequential round trips per round', '300')
  .option('--messages <n>', 'messages per throughput round', '5000')
  .option('--window <n>', 'unconfirmed publishes in flight', '256')
  .option('--prefetch <n>', 'consumer prefetch', '64')
  .option('--payload <bytes>', 'payload size', '256')
  .option('--write', 'write docs/benchmarks/bus.md')
  .parse();
const opts = program.opts<Record<string, string | boolean>>();
const int = (name: string) => {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} must be a positive integer, got ${opts[name]}`);
  return n;
};

async function main() {
  const rounds = int('rounds');
  const config: BenchConfig = {
    roundTrips: int('roundTrips'),
    messages: int('messages'),
    window: int('window'),
    prefetch: int('prefetch'),
    payloadBytes: int('payload'),
    amqpUrl: process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672',
    queuePrefix: `bench.bus.${Date.now().toString(36)}`,
  };
  const results: RoundResult[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const transport of ['embedded', 'amqp', 'amqp-classic'] as TransportName[]) {
      const result = await runRound(transport, config);
      results.push(result);
      console.error(
        `round ${r + 1} ${transport}: p50 ${median(result.latencyMs).toFixed(3)} ms, ` +
          `${result.endToEndPerSec.toFixed(0)} msg/s end-to-end, ${result.publishPerSec.toFixed(0)} confirmed publishes/s`,
      );
    }
  }
  const summary = (transport: TransportName) => {
    const rs = results.filter((r) => r.transport === transport);
    return {
      p50: median(rs.map((r) => median(r.latencyMs))),
      p99: median(rs.map((r) => percentile(r.latencyMs, 99))),
      e2e: median(rs.map((r) => r.endToEndPerSec)),
      pub: median(rs.map((r) => r.publishPerSec)),
    };
  };
  const e = summary('embedded');
  const a = summary('amqp');
  const c = summary('amqp-classic');
  const cmd = `npx nx run bus:bench (= npx tsx tools/bench/bus/bench.ts --write --rounds ${rounds} --round-trips ${config.roundTrips} --messages ${config.messages} --window ${config.window} --prefetch ${config.prefetch} --payload ${config.payloadBytes})`;
  const md = `# bus benchmark

Round-trip latency (publish call → handler entered, one message in flight) and throughput
(${config.messages} messages, ${config.window} unconfirmed publishes in flight, consumer prefetch ${config.prefetch},
${config.payloadBytes}-byte payload, zod validation on publish and consume) of \`@conveyor/bus\`
on the embedded transport and on RabbitMQ (publisher confirms, persistent messages, manual acks)
with a quorum queue (the default) and with a durable classic queue (\`queueType: 'classic'\`),
producer and consumer in one process.

Command: \`${cmd}\`

Rounds alternate embedded / RabbitMQ quorum / RabbitMQ classic ${rounds} times; the table shows medians over rounds.
Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, RabbitMQ on the same host;
shared and noisy — compare the columns of one table (measured side by side), not runs with each other.

| metric | embedded | RabbitMQ (quorum) | RabbitMQ / embedded | RabbitMQ (classic) | classic / quorum |
|---|---|---|---|---|---|
| round trip p50 (ms) | ${e.p50.toFixed(3)} | ${a.p50.toFixed(3)} | ${(a.p50 / e.p50).toFixed(1)}× | ${c.p50.toFixed(3)} | ${(c.p50 / a.p50).toFixed(2)} |
| round trip p99 (ms) | ${e.p99.toFixed(3)} | ${a.p99.toFixed(3)} | ${(a.p99 / e.p99).toFixed(1)}× | ${c.p99.toFixed(3)} | ${(c.p99 / a.p99).toFixed(2)} |
| end-to-end throughput (msg/s) | ${e.e2e.toFixed(0)} | ${a.e2e.toFixed(0)} | ${(a.e2e / e.e2e).toFixed(2)} | ${c.e2e.toFixed(0)} | ${(c.e2e / a.e2e).toFixed(2)} |
| confirmed publishes (msg/s) | ${e.pub.toFixed(0)} | ${a.pub.toFixed(0)} | ${(a.pub / e.pub).toFixed(2)} | ${c.pub.toFixed(0)} | ${(c.pub / a.pub).toFixed(2)} |

Generated ${new Date().toISOString()}.
`;
  console.log(md);
  if (opts['write']) {
    const out = resolve(__dirname, '../../../docs/benchmarks/bus.md');
    mkdirSync(resolve(out, '..'), { recursive: true });
    writeFileSync(out, md);
    console.error(`wrote ${out}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
