import path from 'node:path';
import { readDataset } from '../src/data/read-dataset';
import { SO_QUALITY_DIR } from '../src/paths';

export interface PinnedText {
  /** Where the text comes from: file name and its row's first line. */
  readonly source: string;
  readonly text: string;
}

/**
 * A fixed set of real questions for pinning the model's answers: every 97th row of train.csv
 * (preprocessed) and raw-sample.csv (raw HTML, what the HTTP API receives), plus the longest of
 * each, so short, window-filling and far-longer-than-the-window inputs are all covered.
 */
export async function pinnedTexts(): Promise<PinnedText[]> {
  const out: PinnedText[] = [];
  for (const file of ['train.csv', 'raw-sample.csv']) {
    const { examples } = await readDataset(path.join(SO_QUALITY_DIR, file));
    const picked = new Set<number>();
    for (let i = 0; i < examples.length && picked.size < 24; i += 97) picked.add(i);
    const byLength = examples
      .map((e, i) => [e.text.length, i] as const)
      .sort((a, b) => b[0] - a[0]);
    for (const [, i] of byLength.slice(0, 4)) picked.add(i);
    for (const i of [...picked].sort((a, b) => a - b)) {
      const e = examples[i];
      if (e) out.push({ source: `${file}:${e.line}`, text: e.text });
    }
  }
  return out;
}
