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
  const byKey = (a: { key: string }, b: { key: string }) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  const train: { example: Example; key: string }[] = [];
  const validation: { example: Example; key: string }[] = [];
  for (const group of byClass.values()) {
    group.sort(byKey);
    const cut = Math.round(group.length * options.fraction);
    group.forEach((entry, i) => (i < cut ? validation : train).push(entry));
  }
  // Hash order interleaves the classes, so any prefix (e.g. a quick evaluation subset) is a
  // fair sample rather than rows of one class.
  return {
    train: train.sort(byKey).map((e) => e.example),
    validation: validation.sort(byKey).map((e) => e.example),
  };
}
