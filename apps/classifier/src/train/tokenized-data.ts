import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { T5Tokenizer } from '@conveyor/t5';
import type { Example } from '../data/formats';
import { LABELS, type Label } from '../labels';
import { t5InputText, type T5InputFormat } from '../model/t5-input';
import { keepHeadAndTail } from '../model/truncate';

export interface TokenizedExample {
  readonly inputIds: number[];
  readonly label: Label;
}

/**
 * Tokenises examples once and caches the ids in the run directory, keyed by a hash of the
 * tokenizer, the texts and the window: re-runs and resumed runs start training at once instead of
 * re-tokenising thousands of questions (tokenising is slower than a small model's step).
 */
export function tokenizeExamples(
  examples: readonly Example[],
  tokenizer: T5Tokenizer,
  options: T5InputFormat & { headTokens: number; tailTokens: number; cacheDir?: string },
): TokenizedExample[] {
  const labels = examples.map((e) => {
    if (e.target.kind !== 'class')
      throw new Error(
        `row at line ${e.line} has only a two-way label; training needs HQ, LQ_EDIT or LQ_CLOSE`,
      );
    return e.target.label;
  });
  const key = createHash('sha256')
    .update(JSON.stringify(tokenizer.json))
    .update(
      JSON.stringify([
        options.prefix,
        options.shapeSummary,
        options.headTokens,
        options.tailTokens,
      ]),
    )
    .update(examples.map((e) => e.text).join('\u0000'))
    .digest('hex')
    .slice(0, 16);
  const file = options.cacheDir ? path.join(options.cacheDir, `tokenized-${key}.json`) : undefined;
  if (file && existsSync(file)) {
    const ids = JSON.parse(readFileSync(file, 'utf8')) as number[][];
    if (ids.length === examples.length)
      return ids.map((inputIds, i) => ({ inputIds, label: labels[i] as Label }));
  }
  const ids = examples.map((e) =>
    keepHeadAndTail(
      tokenizer.encode(t5InputText(options, e.text)),
      options.headTokens,
      options.tailTokens,
    ),
  );
  if (file && options.cacheDir) {
    mkdirSync(options.cacheDir, { recursive: true });
    writeFileSync(file, JSON.stringify(ids));
  }
  return ids.map((inputIds, i) => ({ inputIds, label: labels[i] as Label }));
}

/** The decoder targets: each class word's ids (ending in eos). */
export function labelTargets(tokenizer: T5Tokenizer): Record<Label, number[]> {
  const out = {} as Record<Label, number[]>;
  for (const label of LABELS) out[label] = tokenizer.encode(label);
  return out;
}
