// Where the time of one 512-token classification goes, stage by stage, in this process (no HTTP):
// normalising the request's text, tokenising it (a word's pieces are remembered, so the first
// call of a text and the repeated call are both shown), and the model. CPU time is given beside
// wall time: on a shared machine wall time also counts waiting for a core.
// Usage: npx tsx --tsconfig tools/bench/classifier/tsconfig.json tools/bench/classifier/stages.ts \
//          [--model apps/classifier/model-t5] [--runs 40]
import { loadavg } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { T5Tokenizer } from '@conveyor/t5';
import { questionText } from '../../../apps/classifier/src/data/normalize';
import { readDataset } from '../../../apps/classifier/src/data/read-dataset';
import { loadClassifier } from '../../../apps/classifier/src/model/load-classifier';
import { t5InputText } from '../../../apps/classifier/src/model/t5-input';
import { T5QualityClassifier } from '../../../apps/classifier/src/model/t5-classifier';
import { SO_QUALITY_DIR } from '../../../apps/classifier/src/paths';
import { median } from './stats';

const opts = new Command()
  .option('--model <dir>', 'a T5 model directory', 'apps/classifier/model-t5')
  .option('--runs <n>', 'repetitions per stage', (v) => Number(v), 40)
  .parse()
  .opts<{ model: string; runs: number }>();

// The same input as latency.ts and bench.ts: 1,400 words, far more than the 512 tokens kept.
const longText = Array.from({ length: 700 }, (_, i) => `token${i % 97} word${i % 13}`).join(' ');

function measure(run: () => unknown, runs: number): { wall: number; cpu: number } {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    run();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

async function main(): Promise<void> {
  const model = await loadClassifier(opts.model);
  if (!(model instanceof T5QualityClassifier)) throw new Error(`${opts.model} is not a T5 model`);
  const text = questionText('question title', longText, 'html');
  const ids = model.encode(text);
  // The longest real questions, each tokenised for the first time by a fresh tokenizer (only the
  // words of the questions before it remembered), then again: a new question versus a repeat.
  const real = (await readDataset(path.join(SO_QUALITY_DIR, 'raw-sample.csv'))).examples
    .map((e) => e.text)
    .sort((a, b) => b.length - a.length)
    .slice(0, opts.runs);
  const fresh = T5Tokenizer.fromPath(opts.model);
  const prefixed = real.map((t) => t5InputText(model.manifest, t));
  const firstTime = measure(() => fresh.encode(prefixed.shift() ?? ''), real.length);
  const prefixedAgain = real.map((t) => t5InputText(model.manifest, t));
  const again = measure(() => fresh.encode(prefixedAgain.shift() ?? ''), real.length);
  for (let i = 0; i < 5; i++) model.probabilitiesFor([ids]); // warm-up: biases, packed weights
  const rows: [string, { wall: number; cpu: number }][] = [
    [
      'normalise the request text (HTML to text)',
      measure(() => questionText('question title', longText, 'html'), opts.runs),
    ],
    [
      'tokenise + window, bench text (its words seen before)',
      measure(() => model.encode(text), opts.runs),
    ],
    [`tokenise one of the ${real.length} longest raw-sample questions, first time`, firstTime],
    ['tokenise the same question again', again],
    [
      `model: encoder + one decoder pass, ${ids.length} tokens`,
      measure(() => model.probabilitiesFor([ids]), opts.runs),
    ],
    [
      'predict(): all of the above for the bench text',
      measure(() => void model.predict([text]), opts.runs),
    ],
  ];
  console.log(
    `${new Date().toISOString()} load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(`${opts.model}, median of ${opts.runs} runs per stage\n`);
  console.log('| stage | wall (ms) | CPU (ms) |\n| --- | ---: | ---: |');
  for (const [name, t] of rows)
    console.log(`| ${name} | ${t.wall.toFixed(2)} | ${t.cpu.toFixed(2)} |`);
  model.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
