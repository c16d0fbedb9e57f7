import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

const MODELS_DIR = path.join(WORKSPACE_ROOT, 'apps/classifier');

interface Manifest {
  kind?: string;
  version?: unknown;
  members?: { dir: string }[];
}
const manifestOf = (dir: string): Manifest | undefined => {
  const file = path.join(dir, 'classifier.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Manifest) : undefined;
};

/**
 * Every T5 the repository ships, alone (apps/classifier/model*) or as an ensemble's member: the
 * inference path under test is the T5's (an ensemble's other members and its combination are
 * not part of it).
 */
function shippedT5Dirs(): string[] {
  const dirs: string[] = [];
  for (const name of readdirSync(MODELS_DIR)
    .filter((n) => n.startsWith('model'))
    .sort()) {
    const dir = path.join(MODELS_DIR, name);
    const manifest = manifestOf(dir);
    if (manifest?.kind === 't5') dirs.push(dir);
    if (manifest?.kind === 'ensemble') {
      for (const member of manifest.members ?? []) {
        const memberDir = path.resolve(dir, member.dir);
        if (manifestOf(memberDir)?.kind === 't5') dirs.push(memberDir);
      }
    }
  }
  return dirs;
}
const versionOf = (dir: string): string => String(manifestOf(dir)?.version);
// A model trained later has no recording until record-predictions.ts is run for it; the pin
// covers every shipped T5 that was recorded, and at least one must be.
const pinned = shippedT5Dirs()
  .filter((dir) => recorded[versionOf(dir)] !== undefined)
  .map((dir) => path.relative(WORKSPACE_ROOT, dir));

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
    expected = recorded[versionOf(path.join(WORKSPACE_ROOT, dir))];
  });
  afterAll(() => model?.dispose());

  it('was recorded on these texts', () => {
    expect(String(model.description['version'])).toBe(versionOf(path.join(WORKSPACE_ROOT, dir)));
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
