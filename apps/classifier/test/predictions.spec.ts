import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LABELS } from '../src/labels';
import { loadClassifier } from '../src/model/load-classifier';
import type { Prediction, QualityClassifier } from '../src/model/prediction';
import { WORKSPACE_ROOT } from '../src/paths';
import { fixture } from './helpers';
import { pinnedTexts, type PinnedText } from './pinned-texts';

/**
 * The serving path may get faster, never different: the shipped models must give the labels and
 * probabilities (within 1e-5) recorded for them before the inference path was optimised
 * (tools/bench/classifier/record-predictions.ts), whether a text comes alone, as HTTP serves
 * it, or in a batch of mixed lengths.
 */
interface Recorded {
  source: string;
  label: string;
  probabilities: Record<string, number>;
}
const recorded = JSON.parse(readFileSync(fixture('pinned-predictions.json'), 'utf8')) as Record<
  string,
  Recorded[]
>;

// The shipped T5 and the ensemble's T5 member: the inference path under test is the T5's (the
// ensemble's TF-IDF member and its combination are not part of it).
const SHIPPED = ['apps/classifier/model', 'apps/classifier/model-ensemble/members/t5'];
const versionOf = (dir: string): string | undefined => {
  const manifest = path.join(WORKSPACE_ROOT, dir, 'classifier.json');
  if (!existsSync(manifest)) return undefined;
  return String((JSON.parse(readFileSync(manifest, 'utf8')) as { version?: unknown }).version);
};
// A model retrained later has no recording until record-predictions.ts is run for it; the pin
// covers every shipped directory whose model was recorded, and at least one must be.
const pinned = SHIPPED.filter((dir) => recorded[versionOf(dir) ?? ''] !== undefined);

it('pins at least one shipped model', () => {
  expect(pinned.length).toBeGreaterThan(0);
});

function expectSame(actual: Prediction, expected: Recorded): void {
  expect({ source: expected.source, label: actual.label }).toEqual({
    source: expected.source,
    label: expected.label,
  });
  for (const label of LABELS) {
    expect(
      Math.abs(actual.probabilities[label] - (expected.probabilities[label] as number)),
    ).toBeLessThan(1e-5);
  }
}

describe.each(pinned)('%s answers as recorded', (dir) => {
  let model: QualityClassifier;
  let texts: PinnedText[];
  let expected: Recorded[] | undefined;

  beforeAll(async () => {
    model = await loadClassifier(path.join(WORKSPACE_ROOT, dir));
    texts = await pinnedTexts();
    expected = recorded[versionOf(dir) ?? ''];
  });
  afterAll(() => model?.dispose());

  it('was recorded on these texts', () => {
    expect(String(model.description['version'])).toBe(versionOf(dir));
    expect(expected?.map((e) => e.source)).toEqual(texts.map((t) => t.source));
  });

  it('gives the recorded answers in one batch of mixed lengths', async () => {
    const out = await model.predict(texts.map((t) => t.text));
    out.forEach((p, i) => expectSame(p, (expected as Recorded[])[i] as Recorded));
  });

  it('gives the recorded answers one text at a time', async () => {
    for (const [i, t] of texts.entries()) {
      const [p] = await model.predict([t.text]);
      expectSame(p as Prediction, (expected as Recorded[])[i] as Recorded);
    }
  });
});
