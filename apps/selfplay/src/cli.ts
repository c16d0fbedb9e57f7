/**
 * Self-play generator: `npx tsx apps/selfplay/src/cli.ts generate --games 1000 --out var/selfplay/games.jsonl`.
 * Resumable (rerun the same command), parallel across cores with worker_threads.
 */
import { Command, InvalidArgumentError } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { availableParallelism } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  buildOpeningBook,
  buildTrainingSet,
  DEFAULT_CONFIG,
  engineLabel,
  loadModel,
  lossCurveSvg,
  parseRecord,
  recordToPdn,
  runSelfPlay,
  saveModel,
  significantOnly,
  smallestPValues,
  summarizeBook,
  train,
} from '@conveyor/draughts-learning';
import { initBackend } from '@conveyor/tfjs-runtime';
import { readGameLog } from './data';
import { runDistributed, splitShards } from './distributed';

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer, got "${v}"`);
    return n;
  };
}

const program = new Command('selfplay').description(
  'Self-play game generation for Spanish draughts',
);

program
  .command('generate')
  .description('play games between two engine settings and append them to a JSONL log (resumable)')
  .requiredOption('--out <file>', 'JSONL game log to append to')
  .option('--games <n>', 'number of game ids to cover', positiveInt('--games'), 1000)
  .option(
    '--first-id <n>',
    'first game id (shards use disjoint ranges)',
    positiveInt('--first-id'),
    0,
  )
  .option('--depth <n>', 'search depth of both sides', positiveInt('--depth'), 4)
  .option(
    '--white-depth <n>',
    'search depth of white (default --depth)',
    positiveInt('--white-depth'),
  )
  .option(
    '--black-depth <n>',
    'search depth of black (default --depth)',
    positiveInt('--black-depth'),
  )
  .option(
    '--seed <n>',
    'run seed; game seeds derive from it and the game id',
    positiveInt('--seed'),
    1,
  )
  .option(
    '--threads <n>',
    'worker threads (default: available cores)',
    positiveInt('--threads'),
    availableParallelism(),
  )
  .option('--no-progress', 'print one summary line instead of a progress bar')
  .action(
    async (o: {
      out: string;
      games: number;
      firstId: number;
      depth: number;
      whiteDepth?: number;
      blackDepth?: number;
      seed: number;
      threads: number;
      progress: boolean;
    }) => {
      mkdirSync(dirname(o.out), { recursive: true });
      const wd = o.whiteDepth ?? o.depth;
      const bd = o.blackDepth ?? o.depth;
      const bar = o.progress
        ? new SingleBar(
            {
              format:
                'self-play |{bar}| {value}/{total} games | {rate} games/s | eta {eta_formatted}',
              hideCursor: true,
            },
            Presets.shades_classic,
          )
        : null;
      const t0 = Date.now();
      let startDone = -1;
      const summary = await runSelfPlay({
        out: o.out,
        games: o.games,
        firstId: o.firstId,
        white: { label: engineLabel(wd), depth: wd },
        black: { label: engineLabel(bd), depth: bd },
        runSeed: o.seed,
        threads: o.threads,
        onProgress: (done, total) => {
          if (startDone < 0) {
            startDone = done;
            bar?.start(total, done, { rate: '0' });
          }
          const rate = (done - startDone) / Math.max(1e-3, (Date.now() - t0) / 1000);
          bar?.update(done, { rate: rate.toFixed(1) });
        },
      });
      bar?.stop();
      const s = summary.wallMs / 1000;
      console.log(
        `played ${summary.played} games (${summary.resumed} already in ${o.out}) in ${s.toFixed(1)} s wall, ${(summary.cpuMs / 1000).toFixed(1)} s CPU, ` +
          `${(summary.played / Math.max(s, 1e-3)).toFixed(1)} games/s on ${o.threads} threads`,
      );
    },
  );

program
  .command('distributed')
  .description(
    'play games sharded over selfplay workers through the orchestrator (workflows/selfplay.yaml) and write the merged log',
  )
  .requiredOption('--orchestrator <url>', 'orchestrator base URL, e.g. http://127.0.0.1:3001')
  .requiredOption('--out <file>', 'JSONL game log to write (replaced)')
  .option('--games <n>', 'number of games', positiveInt('--games'), 1000)
  .option('--shards <n>', 'game-id ranges, one workflow step each', positiveInt('--shards'), 10)
  .option('--first-id <n>', 'first game id', positiveInt('--first-id'), 0)
  .option('--depth <n>', 'search depth of both sides', positiveInt('--depth'), 4)
  .option('--max-plies <n>', 'plies after which a game is a draw', positiveInt('--max-plies'), 300)
  .option(
    '--seed <n>',
    'run seed; game seeds derive from it and the game id',
    positiveInt('--seed'),
    1,
  )
  .option(
    '--timeout-min <n>',
    'give up waiting after this many minutes',
    positiveInt('--timeout-min'),
    120,
  )
  .action(
    async (o: {
      orchestrator: string;
      out: string;
      games: number;
      shards: number;
      firstId: number;
      depth: number;
      maxPlies: number;
      seed: number;
      timeoutMin: number;
    }) => {
      const input = {
        runSeed: o.seed,
        depth: o.depth,
        maxPlies: o.maxPlies,
        shards: splitShards(o.games, o.shards, o.firstId),
      };
      let announced = false;
      const result = await runDistributed({
        orchestrator: o.orchestrator,
        input,
        timeoutMs: o.timeoutMin * 60_000,
        onWaiting: (id) => {
          if (!announced) console.log(`run ${id} started; waiting for ${o.shards} shards`);
          announced = true;
        },
      });
      const out = result.output;
      mkdirSync(dirname(o.out), { recursive: true });
      writeFileSync(o.out, out.jsonl);
      const s = result.wallMs / 1000;
      console.log(
        `run ${result.runId}: ${out.games} games in ${o.shards} shards (+${out.whiteWins} =${out.draws} -${out.blackWins} from White's side) ` +
          `in ${s.toFixed(1)} s wall, ${(out.cpuMs / 1000).toFixed(1)} s CPU on ${result.shardWorkers.length} worker(s), ` +
          `${(out.games / Math.max(s, 1e-3)).toFixed(1)} games/s; wrote ${o.out}`,
      );
    },
  );

program
  .command('pdn')
  .description('export games of a JSONL log as PDN')
  .requiredOption('--in <file>', 'JSONL game log')
  .requiredOption('--out <file>', 'PDN file to write')
  .option('--limit <n>', 'at most this many games', positiveInt('--limit'))
  .action((o: { in: string; out: string; limit?: number }) => {
    const parts: string[] = [];
    for (const line of readFileSync(o.in, 'utf8').split('\n')) {
      if (!line) continue;
      if (o.limit !== undefined && parts.length >= o.limit) break;
      const parsed = parseRecord(line);
      if (!parsed.ok) throw new Error(`${o.in}: ${parsed.error}`);
      parts.push(recordToPdn(parsed.record));
    }
    writeFileSync(o.out, parts.join('\n\n') + '\n');
    console.log(`wrote ${parts.length} games to ${o.out}`);
  });

program
  .command('stats')
  .description(
    'aggregate opening statistics (per position and move: win/draw/loss, exact multinomial test, BH correction)',
  )
  .requiredOption('--in <file>', 'JSONL game log')
  .requiredOption('--out <file>', 'opening book JSON to write')
  .option('--max-ply <n>', 'count positions before this ply', positiveInt('--max-ply'), 16)
  .option(
    '--min-games <n>',
    'keep positions seen in at least this many games',
    positiveInt('--min-games'),
    20,
  )
  .option('--fdr <q>', 'false-discovery rate of the Benjamini-Hochberg correction', Number, 0.05)
  .option('--limit <n>', 'use at most this many games', positiveInt('--limit'))
  .option(
    '--significant-only',
    'keep only positions with a significant move, and only those moves (what the selector uses)',
  )
  .action(
    (o: {
      in: string;
      out: string;
      maxPly: number;
      minGames: number;
      fdr: number;
      limit?: number;
      significantOnly?: boolean;
    }) => {
      const t0 = Date.now();
      const records = readGameLog(o.in, o.limit);
      const full = buildOpeningBook(records, {
        maxPly: o.maxPly,
        minGames: o.minGames,
        fdr: o.fdr,
      });
      const s = summarizeBook(full);
      const book = o.significantOnly ? significantOnly(full) : full;
      mkdirSync(dirname(o.out), { recursive: true });
      const text = JSON.stringify(book) + '\n';
      writeFileSync(o.out, text);
      console.log(
        `${full.games} games → ${s.positions} positions with ≥ ${o.minGames} games, ${s.moves} moves, ${s.tested} tested, ` +
          `${s.significant} significant at FDR ${o.fdr}; wrote ${o.out} (${Object.keys(book.positions).length} positions, ` +
          `${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      for (const t of smallestPValues(full, 5))
        console.log(
          `  p = ${t.pValue.toExponential(2)} (BH bound ${t.bound.toExponential(2)}): ${t.move} with ${t.counts.join('/')} ` +
            `vs the position's ${t.position.join('/')} (W/D/L for the mover) at ${t.fen}`,
        );
    },
  );

program
  .command('train')
  .description(
    'train the transformer scorer on logged games; saves model.json + weights.bin and a loss-curve SVG',
  )
  .requiredOption('--in <file>', 'JSONL game log')
  .requiredOption('--out <dir>', 'model directory to write')
  .option('--games <n>', 'use at most this many games', positiveInt('--games'))
  .option('--epochs <n>', 'passes over the training positions', positiveInt('--epochs'), 2)
  .option('--batch <n>', 'positions per optimiser step', positiveInt('--batch'), 256)
  .option('--lr <x>', 'Adam learning rate', Number, 2e-3)
  .option('--max-steps <n>', 'stop after this many steps', positiveInt('--max-steps'))
  .option('--seed <n>', 'initialisation and shuffling seed', positiveInt('--seed'), 1)
  .option('--d-model <n>', 'width', positiveInt('--d-model'), DEFAULT_CONFIG.dModel)
  .option(
    '--init <dir>',
    'continue training from this saved model (its config wins over --d-model)',
  )
  .action(
    async (o: {
      in: string;
      out: string;
      games?: number;
      epochs: number;
      batch: number;
      lr: number;
      maxSteps?: number;
      seed: number;
      dModel: number;
      init?: string;
    }) => {
      const backend = await initBackend({ label: 'selfplay train', log: (l) => console.log(l) });
      const start = o.init ? loadModel(o.init) : undefined;
      const records = readGameLog(o.in, o.games);
      const set = buildTrainingSet(records);
      console.log(`${records.length} games, ${set.count} positions`);
      const config = start?.config ?? { ...DEFAULT_CONFIG, dModel: o.dModel };
      const bar = new SingleBar(
        {
          format: 'train |{bar}| step {value}/{total} | loss {loss} | val {val}',
          hideCursor: true,
        },
        Presets.shades_classic,
      );
      let started = false;
      let lastVal = 'n/a';
      const t0 = Date.now();
      const cpu0 = process.cpuUsage();
      const result = train(set, {
        config,
        epochs: o.epochs,
        batchSize: o.batch,
        learningRate: o.lr,
        seed: o.seed,
        maxSteps: o.maxSteps,
        initialParams: start?.params,
        reportEvery: 10,
        onProgress: (p) => {
          if (p.validationLoss !== undefined) lastVal = p.validationLoss.toFixed(4);
          if (!started) {
            started = true;
            bar.start(p.totalSteps, p.step, { loss: 'n/a', val: lastVal });
          }
          bar.update(p.step, {
            loss: Number.isFinite(p.trainLoss) ? p.trainLoss.toFixed(4) : 'n/a',
            val: lastVal,
          });
          // Without a terminal (nohup, CI) the bar draws nothing: log a line per report instead.
          if (!process.stdout.isTTY)
            console.log(
              `step ${p.step}/${p.totalSteps} epoch ${p.epoch} train loss ${p.trainLoss.toFixed(4)} validation ${lastVal}`,
            );
        },
      });
      bar.stop();
      const cpu = process.cpuUsage(cpu0);
      const info = {
        backend: backend.name,
        games: records.length,
        trainPositions: result.trainPositions,
        validationPositions: result.validationPositions,
        epochs: o.epochs,
        ...(o.init ? { continuedFrom: start?.trainingInfo ?? o.init } : {}),
        batch: o.batch,
        learningRate: o.lr,
        steps: result.curve[result.curve.length - 1]?.step ?? 0,
        curve: result.curve,
        wallSeconds: Math.round((Date.now() - t0) / 1000),
        cpuSeconds: Math.round((cpu.user + cpu.system) / 1e6),
        targets: 'sigmoid ramp (k=6) from first to deciding ply on the actual outcome, 0 elsewhere',
      };
      await saveModel(o.out, config, result.params, info);
      writeFileSync(
        `${o.out}/loss-curve.svg`,
        lossCurveSvg(
          result.curve,
          `draughts transformer: ${records.length} games, ${set.count} positions`,
        ),
      );
      const last = result.curve[result.curve.length - 1];
      console.log(
        `saved ${o.out} (validation loss ${last?.validationLoss.toFixed(4)}; ${info.wallSeconds} s wall, ${info.cpuSeconds} s CPU)`,
      );
    },
  );

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
