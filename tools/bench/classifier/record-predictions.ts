// Records what the shipped models answer for the pinned real texts (apps/classifier/test/
// pinned-texts.ts), so a change to the inference path can be checked against them
// (apps/classifier/test/predictions.spec.ts). Each entry is keyed by the model's version: a
// retrained model gets its own entry by running this again.
// Usage: npx tsx --tsconfig tools/bench/classifier/tsconfig.json tools/bench/classifier/record-predictions.ts \
//          --model apps/classifier/model-t5 --model apps/classifier/model-ensemble/members/t5
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { loadClassifier } from '../../../apps/classifier/src/model/load-classifier';
import { WORKSPACE_ROOT } from '../../../apps/classifier/src/paths';
import { pinnedTexts } from '../../../apps/classifier/test/pinned-texts';

export const GOLDEN_FILE = path.join(
  WORKSPACE_ROOT,
  'apps/classifier/test/fixtures/pinned-predictions.json',
);

const opts = new Command()
  .requiredOption('--model <dir...>', 'T5 model directories (alone or an ensemble member)')
  .parse()
  .opts<{ model: string[] }>();

async function main(): Promise<void> {
  const texts = await pinnedTexts();
  let golden: Record<string, unknown> = {};
  try {
    golden = JSON.parse(await readFile(GOLDEN_FILE, 'utf8')) as Record<string, unknown>;
  } catch {
    // first recording
  }
  for (const dir of opts.model) {
    const model = await loadClassifier(dir);
    const version = String(model.description['version']);
    const predictions = await model.predict(texts.map((t) => t.text));
    golden[version] = predictions.map((p, i) => ({
      source: texts[i]?.source,
      label: p.label,
      probabilities: p.probabilities,
    }));
    model.dispose();
    console.log(`${dir}: ${version}, ${predictions.length} predictions`);
  }
  await writeFile(GOLDEN_FILE, JSON.stringify(golden, null, 1) + '\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
