import { createHash } from 'node:crypto';
import type { Example } from './formats';

/**
 * Deterministic stratified hold-out: every example's side is decided by a hash of (seed, text),
 * so the split is the same on every machine and run and does not depend on row order (train.csv
 * has no ids). Stratified per class so the validation set keeps train.csv's 1/3-1/3-1/3 balance.
 */
export function splitHoldout(
  examples: readonly Example[],
  options: { fraction: number; seed: number },
): { train: Example[]; validation: Example[] } {
  if (!(options.fraction > 0 && options.fraction < 1)) {
    throw new Error(`validation fraction must be in (0, 1), got ${options.fraction}`);
  }
  const byClass = new Map<string, { example: Example; key: string }[]>();
  for (const example of examples) {
    const cls = example.target.kind === 'class' ? example.target.label : example.target.quality;
    const key = createHash('sha256').update(`${options.seed}\u0000${example.text}`).digest('hex');
    const group = byClass.get(cls) ?? [];
    group.push({ example, key });
    byClass.set(cls, group);
  }
  const train: Example[] = [];
  const validation: Example[] = [];
  for (const group of byClass.values()) {
    group.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const cut = Math.round(group.length * options.fraction);
    group.forEach(({ example }, i) => (i < cut ? validation : train).push(example));
  }
  return { train, validation };
}
