// Classifier benchmarks on this machine: single-request latency for a 512-token input, HTTP
// throughput with dynamic batching vs without (measured side by side, alternating rounds), and
// training throughput with the cached, length-bucketed input pipeline vs tokenising on the fly.
// Usage: npx tsx --tsconfig tools/bench/classifier/tsconfig.json tools/bench/classifier/bench.ts [--model DIR] [--write FILE]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { AdamW, collateSeq2Seq, createT5, disposeBatch, useXnnpackBatchMatMul } from '@conveyor/t5';
import { configFrom } from '../../../apps/classifier/src/config';
import { holdoutSide, DEFAULT_HOLDOUT } from '../../../apps/classifier/src/data/holdout';
import { readDataset } from '../../../apps/classifier/src/data/read-dataset';
import { start } from '../../../apps/classifier/src/main';
import { loadClassifier } from '../../../apps/classifier/src/model/load-classifier';
import { T5QualityClassifier } from '../../../apps/classifier/src/model/t5-classifier';
import { SHIPPED_T5_DIR, SO_QUALITY_DIR } from '../../../apps/classifier/src/paths';
import { planEpoch } from '../../../apps/classifier/src/train/length-batches';
import { labelTargets, tokenizeExamples } from '../../../apps/classifier/src/train/tokenized-data';
import { trainStep } from '../../../apps/classifier/src/train/train-step';
import { median, percentile } from './stats';

const opts = new Command()
  .option('--model <dir>', 'model directory', SHIPPED_T5_DIR)
  .option('--latency-runs <n>', 'sequential single requests', (v) => Number(v), 30)
  .option('--requests <n>', 'requests per throughput round', (v) => Number(v), 96)
  .option('--concurrency <n>', 'requests in flight in throughput rounds', (v) => Number(v), 16)
  .option('--rounds <n>', 'alternating throughput rounds per mode', (v) => Number(v), 3)
  .option('--train-steps <n>', 'training steps per pipeline variant', (v) => Number(v), 6)
  .option(
    '--scaling-items <n>',
    'questions scored per batch size in the batch-scaling test',
    (v) => Number(v),
    64,
  )
  .option('--write <file>', 'also write the markdown report here')
  .parse()
  .opts<{
    model: string;
    latencyRuns: number;
    requests: number;
    concurrency: number;
    rounds: number;
    trainSteps: number;
    scalingItems: number;
    write?: string;
  }>();

const ms = (x: number) => `${x.toFixed(1)} ms`;

async function main(): Promise<void> {
  const lines: string[] = [];
  const say = (line = '') => {
    lines.push(line);
    process.stdout.write(line + '\n');
  };
  const model = await loadClassifier(opts.model);
  if (!(model instanceof T5QualityClassifier))
    throw new Error(`${opts.model} is not a T5 model; the benchmark measures the T5 classifier`);
  const data = await readDataset(path.join(SO_QUALITY_DIR, 'raw-sample.csv'));
  const questions = data.examples.slice(0, 400);

  // 1. Latency of one request whose input fills the 512-token window, through HTTP.
  const longText = Array.from({ length: 700 }, (_, i) => `token${i % 97} word${i % 13}`).join(' ');
  const tokens = model.encode(longText).length;
  const single = await start(
    configFrom({ PORT: 0, LOG_LEVEL: 'silent', BATCH_MAX_SIZE: 16, BATCH_WAIT_MS: 5 }),
    { model, handleSignals: false },
  );
  await single.service.ready;
  const post = async (url: string, title: string, body: string) => {
    const res = await fetch(`${url}/v1/classify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title, body }),
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    await res.json();
  };
  await post(single.url, 'warm up', longText);
  const latencies: number[] = [];
  for (let i = 0; i < opts.latencyRuns; i++) {
    const t0 = performance.now();
    await post(single.url, 'question title', longText);
    latencies.push(performance.now() - t0);
  }
  const direct: number[] = [];
  const directCpu: number[] = [];
  for (let i = 0; i < opts.latencyRuns; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await model.predict([longText]);
    direct.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    directCpu.push((c.user + c.system) / 1000);
  }

  // 1b. Does batching pay inside the model? The same questions scored in batches of 1, 4, 16,
  //     with this repository's wasm matrix-product kernel and with tfjs's stock one.
  const scalingInputs = questions.slice(0, opts.scalingItems).map((q) => model.encode(q.text));
  const scaling: { kernel: string; size: number; wall: number; cpu: number }[] = [];
  for (const [kernel, on] of [
    ['XNNPACK per batch entry (this repo)', true],
    ['tfjs stock BatchMatMul', false],
  ] as const) {
    useXnnpackBatchMatMul(on);
    model.probabilitiesFor(scalingInputs.slice(0, 4)); // warm-up
    for (const size of [1, 4, 16]) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < scalingInputs.length; i += size)
        model.probabilitiesFor(scalingInputs.slice(i, i + size));
      const wall = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      scaling.push({
        kernel,
        size,
        wall: scalingInputs.length / wall,
        cpu: scalingInputs.length / ((c.user + c.system) / 1e6),
      });
    }
  }
  useXnnpackBatchMatMul(true);

  // 2. Throughput: same model, two services, alternating rounds so machine noise hits both.
  const batched = single;
  const unbatched = await start(
    configFrom({ PORT: 0, LOG_LEVEL: 'silent', BATCH_MAX_SIZE: 1, BATCH_WAIT_MS: 0 }),
    { model, handleSignals: false },
  );
  await unbatched.service.ready;
  // A longer wait lets more requests join a batch while the model is the bottleneck.
  const patient = await start(
    configFrom({ PORT: 0, LOG_LEVEL: 'silent', BATCH_MAX_SIZE: 16, BATCH_WAIT_MS: 20 }),
    { model, handleSignals: false },
  );
  await patient.service.ready;
  const round = async (url: string): Promise<number> => {
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        while (next < opts.requests) {
          const q = questions[next++ % questions.length];
          // raw-sample texts are already normalised here; sending them as the body keeps sizes realistic.
          await post(url, 'question', q?.text ?? 'empty');
        }
      }),
    );
    return opts.requests / ((performance.now() - t0) / 1000);
  };
  const rates = { batched: [] as number[], unbatched: [] as number[], patient: [] as number[] };
  await round(batched.url);
  await round(unbatched.url);
  await round(patient.url);
  const warmStats = { batched: batched.service.batching, patient: patient.service.batching };
  for (let r = 0; r < opts.rounds; r++) {
    rates.batched.push(await round(batched.url));
    rates.unbatched.push(await round(unbatched.url));
    rates.patient.push(await round(patient.url));
  }
  // Mean batch sizes over the timed rounds only (the warm-up round is subtracted).
  const meanBatch = (
    now: { items: number; batches: number },
    warm: { items: number; batches: number },
  ) => (now.items - warm.items) / Math.max(1, now.batches - warm.batches);
  const batchSizes = {
    batched: meanBatch(batched.service.batching, warmStats.batched),
    patient: meanBatch(patient.service.batching, warmStats.patient),
  };
  await patient.stop();
  await unbatched.stop();
  await batched.stop();

  // 3. Training throughput with the shipped model's shape: cached ids + length buckets vs
  //    tokenising each batch on the fly in arrival order (no bucketing).
  const train = await readDataset(path.join(SO_QUALITY_DIR, 'train.csv'));
  const side = holdoutSide(train.examples, DEFAULT_HOLDOUT, 'train').slice(0, 1200);
  const window = {
    prefix: model.manifest.prefix,
    shapeSummary: model.manifest.shapeSummary,
    headTokens: model.manifest.headTokens,
    tailTokens: model.manifest.tailTokens,
  };
  const fresh = createT5({ ...model.model.config, dropoutRate: 0.1 }, { seed: 1 });
  const optimizer = new AdamW({ weightDecay: 0.01 });
  const targets = labelTargets(model.tokenizer);
  const collate = {
    padTokenId: model.tokenizer.padTokenId,
    decoderStartTokenId: fresh.config.decoderStartTokenId,
  };
  const step = (rows: { inputIds: number[]; labels: number[] }[]) => {
    const batch = collateSeq2Seq(rows, collate);
    trainStep(fresh, optimizer, batch, {
      learningRate: 1e-3,
      maxGradNorm: 1,
      nextDropoutSeed: () => 7,
    });
    disposeBatch(batch);
  };
  const tokenized = tokenizeExamples(side, model.tokenizer, window);
  const plan = planEpoch(
    tokenized.map((e) => e.inputIds.length),
    { maxTokensPerBatch: 4096, maxBatchSize: 32, seed: 1, epoch: 0 },
  );
  const pipeline = { bucketed: [] as number[], naive: [] as number[] };
  step([{ inputIds: tokenized[0]?.inputIds ?? [1], labels: targets.high }]);
  for (let r = 0; r < 2; r++) {
    let t0 = performance.now();
    let n = 0;
    for (const b of plan.slice(r * opts.trainSteps, (r + 1) * opts.trainSteps)) {
      step(
        b.map((i) => ({
          inputIds: tokenized[i]?.inputIds ?? [],
          labels: targets[tokenized[i]?.label ?? 'none'],
        })),
      );
      n += b.length;
    }
    pipeline.bucketed.push(n / ((performance.now() - t0) / 1000));
    t0 = performance.now();
    n = 0;
    for (let s = 0; s < opts.trainSteps; s++) {
      const rows = side.slice((r * opts.trainSteps + s) * 24, (r * opts.trainSteps + s + 1) * 24);
      const ids = tokenizeExamples(rows, model.tokenizer, window);
      step(ids.map((e) => ({ inputIds: e.inputIds, labels: targets[e.label] })));
      n += rows.length;
    }
    pipeline.naive.push(n / ((performance.now() - t0) / 1000));
  }
  optimizer.dispose();

  const cmd = 'npx nx run classifier:bench';
  say(`## Classifier benchmarks (generated by \`${cmd}\`, ${new Date().toISOString()})`);
  say();
  say(
    `Machine: 2 shared cores (noisy: other services' tests run at the same time); model \`${path.relative(process.cwd(), opts.model)}\` (${String(model.description['version'])}, d=${model.model.config.dModel}, ${model.model.config.numLayers}+${model.model.config.numDecoderLayers} layers); TensorFlow.js backend ${String(await import('@tensorflow/tfjs-core').then((tf) => tf.getBackend()))}.`,
  );
  say();
  say(
    `### Single-request latency, 512-token input (${tokens} tokens after the model's ${model.manifest.headTokens} + ${model.manifest.tailTokens} window)`,
  );
  say();
  say('| path | runs | p50 | p95 |');
  say('| --- | ---: | ---: | ---: |');
  say(
    `| HTTP POST /v1/classify (batching on, wait 5 ms) | ${latencies.length} | ${ms(median(latencies))} | ${ms(percentile(latencies, 95))} |`,
  );
  say(
    `| model.predict() in process | ${direct.length} | ${ms(median(direct))} | ${ms(percentile(direct, 95))} |`,
  );
  say();
  say(
    `CPU time of one in-process prediction (median): ${ms(median(directCpu))}; the rest of the wall-clock time is waiting for a core.`,
  );
  say();
  say(
    `### Batching inside the model: ${scalingInputs.length} raw-sample questions scored in batches of 1, 4, 16 (in process)`,
  );
  say();
  say('| matrix-product kernel | batch size | questions/s (wall) | questions/s (CPU time) |');
  say('| --- | ---: | ---: | ---: |');
  for (const r of scaling)
    say(`| ${r.kernel} | ${r.size} | ${r.wall.toFixed(1)} | ${r.cpu.toFixed(1)} |`);
  say();
  say(
    `### HTTP throughput, ${opts.concurrency} concurrent clients, ${opts.requests} requests per round, raw-sample questions`,
  );
  say();
  say('| mode | rounds | median req/s | min | max |');
  say('| --- | ---: | ---: | ---: | ---: |');
  for (const [name, values] of [
    ['dynamic batching (max 16, wait 5 ms: the default)', rates.batched],
    ['dynamic batching (max 16, wait 20 ms)', rates.patient],
    ['no batching (max 1)', rates.unbatched],
  ] as const) {
    say(
      `| ${name} | ${values.length} | ${median(values).toFixed(1)} | ${Math.min(...values).toFixed(1)} | ${Math.max(...values).toFixed(1)} |`,
    );
  }
  say();
  say(
    `Ratio batched / unbatched (medians): **${(median(rates.batched) / median(rates.unbatched)).toFixed(2)}×** with a 5 ms wait (mean batch ${batchSizes.batched.toFixed(1)}), **${(median(rates.patient) / median(rates.unbatched)).toFixed(2)}×** with 20 ms (mean batch ${batchSizes.patient.toFixed(1)}).`,
  );
  say();
  say(
    `### Training throughput (shipped model's shape, ${opts.trainSteps} steps per variant and round, 2 rounds)`,
  );
  say();
  say('| input pipeline | median examples/s |');
  say('| --- | ---: |');
  say(
    `| cached token ids, length-bucketed batches under a 4096-token budget | ${median(pipeline.bucketed).toFixed(2)} |`,
  );
  say(
    `| tokenise each batch on the fly, arrival order, 24 per batch | ${median(pipeline.naive).toFixed(2)} |`,
  );
  say();
  say(`Ratio: **${(median(pipeline.bucketed) / median(pipeline.naive)).toFixed(2)}×**.`);
  if (opts.write) writeFileSync(opts.write, lines.join('\n') + '\n');
  model.dispose();
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
