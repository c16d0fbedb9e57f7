// T5 benchmarks: forward latency on a 512-token input and training throughput, per backend.
// Usage: npx tsx --tsconfig tools/bench/t5/tsconfig.json tools/bench/t5/bench.ts [--backends wasm,wasm-stock,cpu] [--runs 5] [--t5-small] [--write docs/benchmarks/t5.md]
// Reports medians of wall-clock and of process CPU time. "wasm-stock" is wasm with tfjs's own
// BatchMatMul kernel instead of @conveyor/tfjs-runtime's XNNPACK-per-batch-entry one, measured in
// the same process. The machine is shared and noisy: compare within one run, not across runs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import {
  T5Trainer,
  T5_SMALL_CONFIG,
  collateSeq2Seq,
  countParameters,
  createT5,
  disposeBatch,
  initBackend,
  scoreCandidates,
  useXnnpackBatchMatMul,
  type BackendChoiceName,
  type T5Config,
} from '@conveyor/t5';

/** A backend, or wasm with the stock BatchMatMul kernel for comparison. */
type Variant = BackendChoiceName | 'wasm-stock';

interface Args {
  backends: Variant[];
  runs: number;
  t5Small: boolean;
  write?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { backends: ['wasm', 'wasm-stock'], runs: 5, t5Small: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--backends') args.backends = next().split(',') as Variant[];
    else if (a === '--runs') args.runs = Number(next());
    else if (a === '--t5-small') args.t5Small = true;
    else if (a === '--write') args.write = next();
    else throw new Error(`unknown argument ${a}; see the usage line at the top of bench.ts`);
  }
  return args;
}

// The configuration the classifier trains from scratch (its own ~8k-piece tokenizer).
const CLASSIFIER_SMALL: Partial<T5Config> = {
  vocabSize: 8000,
  dModel: 256,
  dKv: 32,
  dFf: 1024,
  numLayers: 4,
  numHeads: 8,
  dropoutRate: 0.1,
};

// Scoring a batch costs about SCORE_BATCH forward passes; kept small so the run fits on a busy machine.
const SCORE_BATCH = 4;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

interface Timing {
  /** Median wall-clock milliseconds. */
  wall: number;
  /** Median process CPU milliseconds (user + system): what the work costs, whatever the load. */
  cpu: number;
}

function time(fn: () => void, runs: number): Timing {
  fn(); // warm-up: kernel compilation, allocation
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

function ids(length: number, vocab: number, seed: number): number[] {
  return Array.from({ length }, (_, i) => 3 + ((i * 7919 + seed * 104729) % (vocab - 3)));
}

interface Row {
  model: string;
  backend: string;
  params: number;
  forward512: Timing;
  scoreBatch?: Timing;
  /** Examples per second of wall-clock and of CPU time. */
  train?: { wall: number; cpu: number };
}

function benchModel(
  name: string,
  config: Partial<T5Config>,
  backend: string,
  runs: number,
  train: boolean,
): Row {
  const model = createT5(config, { seed: 1 });
  const vocab = model.config.vocabSize;
  const input = ids(511, vocab, 1).concat(1);
  const forward512 = time(() => {
    tf.tidy(() => {
      const logits = model.forward({
        inputIds: tf.tensor2d([input], undefined, 'int32'),
        attentionMask: tf.ones([1, 512]) as tf.Tensor2D,
        decoderInputIds: tf.tensor2d([[0, 5]], undefined, 'int32'),
      });
      logits.dataSync();
    });
  }, runs);
  const row: Row = { model: name, backend, params: countParameters(model.config), forward512 };
  console.error(`${name} on ${backend}: forward ${forward512.wall.toFixed(0)} ms`);
  if (train) {
    // What the classifier serves: a batch of 512-token inputs scored against 3 label sequences.
    const batchInputs = Array.from({ length: SCORE_BATCH }, (_, i) => ids(511, vocab, i).concat(1));
    row.scoreBatch = time(
      () =>
        void scoreCandidates(model, batchInputs, [
          [10, 1],
          [11, 1],
          [12, 1],
        ]),
      1,
    );
    console.error(`${name} on ${backend}: score ${row.scoreBatch.wall.toFixed(0)} ms`);
    // Training: batches of 16 examples, 128 input tokens, 2 target tokens.
    const trainer = new T5Trainer(model, { learningRate: 1e-3, seed: 1 });
    const batch = collateSeq2Seq(
      Array.from({ length: 16 }, (_, i) => ({
        inputIds: ids(127, vocab, i).concat(1),
        labels: [10 + (i % 3), 1],
      })),
      { padTokenId: 0, decoderStartTokenId: 0 },
    );
    const step = time(() => void trainer.step(batch), runs);
    row.train = { wall: 16 / (step.wall / 1000), cpu: 16 / (step.cpu / 1000) };
    disposeBatch(batch);
    trainer.dispose();
  }
  model.dispose();
  return row;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const loadBefore = os.loadavg()[0] ?? 0;
  const rows: Row[] = [];
  // Rows are rendered and written as they finish, so a run cut short still leaves its results.
  const publish = () => {
    const doc = render(args, rows, loadBefore);
    if (args.write) fs.writeFileSync(args.write, doc);
    return doc;
  };
  for (const variant of args.backends) {
    const stock = variant === 'wasm-stock';
    const choice = await initBackend({ candidates: [stock ? 'wasm' : variant] });
    useXnnpackBatchMatMul(!stock);
    const backendLabel = stock ? 'wasm, stock BatchMatMul' : choice.name;
    rows.push(
      benchModel(
        'classifier-small (d256, 4+4 layers, vocab 8k)',
        CLASSIFIER_SMALL,
        backendLabel,
        args.runs,
        true,
      ),
    );
    console.error(JSON.stringify(rows[rows.length - 1]));
    publish();
    if (args.t5Small) {
      rows.push(
        benchModel(
          't5-small (60.5M)',
          { ...T5_SMALL_CONFIG },
          backendLabel,
          Math.max(3, Math.floor(args.runs / 2)),
          false,
        ),
      );
      console.error(JSON.stringify(rows[rows.length - 1]));
      publish();
    }
  }
  console.log(publish());
}

function render(args: Args, rows: Row[], loadBefore: number): string {
  const fmt = (v: number | undefined, digits = 0) => (v === undefined ? '—' : v.toFixed(digits));
  const table = [
    `| model | backend | parameters | forward, 1×512 tokens: wall / CPU (ms) | score ${SCORE_BATCH}×512 vs 3 labels: wall / CPU (ms) | training, 16×128: examples/s wall / CPU |`,
    '|---|---|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.model} | ${r.backend} | ${(r.params / 1e6).toFixed(1)}M | ${fmt(r.forward512.wall)} / ${fmt(r.forward512.cpu)} | ${r.scoreBatch ? `${fmt(r.scoreBatch.wall)} / ${fmt(r.scoreBatch.cpu)}` : '—'} | ${r.train ? `${fmt(r.train.wall, 1)} / ${fmt(r.train.cpu, 1)}` : '—'} |`,
    ),
  ].join('\n');
  const command =
    `npx tsx --tsconfig tools/bench/t5/tsconfig.json tools/bench/t5/bench.ts ${process.argv.slice(2).join(' ')}`.trim();
  const doc = `# T5 benchmarks (libs/t5)

Command: \`${command}\` (\`npx nx run t5:bench\` runs it with \`--runs 3 --write docs/benchmarks/t5.md\`)

Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, shared with other jobs:
1-minute load average ${loadBefore.toFixed(1)} at the start and ${(os.loadavg()[0] ?? 0).toFixed(1)} at the end of the run
(a load of L on 2 cores leaves this process roughly 2/L of a core, so absolute numbers are pessimistic;
compare backends within one run).
Medians of ${args.runs} runs after one warm-up; each cell gives wall-clock and process CPU time (user + system), the
latter being what the work costs whatever else runs (scoring: one timed run after a warm-up). The forward pass is encoder (512 tokens) plus a
2-token decoder; "score" is \`scoreCandidates\` as the classifier uses it; training is one
\`T5Trainer.step\` (forward, backward, clipping, AdamW) on 16 examples of 128 tokens.
"wasm, stock BatchMatMul" is the same wasm backend with tfjs's own matrix-product kernel, which
sends transposed and batched products to a naive loop (see libs/tfjs-runtime/src/wasm-batch-matmul.ts).
The native \`tfjs-node\` backends are not installable here.

${table}
`;
  return doc;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
