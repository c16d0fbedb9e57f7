/**
 * A match between two players over worker threads, colours alternated; prints W/D/L with Wilson
 * 95% intervals and writes every game's result to --out (JSON).
 *   npx tsx tools/bench/checkers-learning/match.ts --a '{"kind":"book","depth":4,"bookPath":"…"}' --b '{"kind":"minimax","depth":4}' --games 400
 */
import { availableParallelism } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  describePlayer,
  runPool,
  summarizeMatch,
  type MatchGameResult,
  type MatchGameTask,
  type MatchWorkerData,
  type PlayerSpec,
} from '@conveyor/draughts-learning';

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    games: { type: 'string', default: '400' },
    threads: { type: 'string', default: String(availableParallelism()) },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
  },
});
if (!values.a || !values.b)
  throw new Error('give both players as JSON: --a \'{"kind":"minimax","depth":4}\' --b …');
const a = JSON.parse(values.a) as PlayerSpec;
const b = JSON.parse(values.b) as PlayerSpec;
const games = Number(values.games);
const seed = Number(values.seed);
const tasks: MatchGameTask[] = Array.from({ length: games }, (_, index) => ({
  index,
  seed: (seed * 1_000_003 + index * 7919) >>> 0,
}));
const results: MatchGameResult[] = [];
const t0 = Date.now();
const cpu0 = process.cpuUsage();
const data: MatchWorkerData = { a, b };
void (async () => {
  await runPool<MatchGameTask, MatchGameResult>({
    script: resolve(__dirname, '../../../libs/draughts-learning/src/match-worker.ts'),
    tasks,
    threads: Number(values.threads),
    workerData: data,
    onResult: (r) => {
      results.push(r);
      if (results.length % 20 === 0) {
        const s = summarizeMatch(results);
        console.error(`${results.length}/${games}: +${s.wins} =${s.draws} -${s.losses}`);
      }
    },
  });
  const s = summarizeMatch(results);
  const cpu = process.cpuUsage(cpu0);
  const pct = (x: number): string => (100 * x).toFixed(1) + '%';
  const line =
    `${describePlayer(a)} vs ${describePlayer(b)}: ${s.games} games, +${s.wins} =${s.draws} -${s.losses}; ` +
    `win rate ${pct(s.winRate)} [${pct(s.winCi.low)}, ${pct(s.winCi.high)}], score ${pct(s.score)} [${pct(s.scoreCi.low)}, ${pct(s.scoreCi.high)}] (Wilson 95%); ` +
    `${((Date.now() - t0) / 1000).toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU`;
  console.log(line);
  if (values.out) {
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, JSON.stringify({ a, b, summary: s, line, results }, null, 1) + '\n');
  }
})().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
