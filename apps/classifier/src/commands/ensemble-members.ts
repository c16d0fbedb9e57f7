import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { requireValidationSplit, sameSplit, splitsFrom, type Splits } from './recorded-splits';

/** A member as given on the command line: its name inside the ensemble and its directory. */
export interface MemberInput {
  /** Its directory inside the ensemble is `members/<name>`. */
  readonly name: string;
  readonly dir: string;
  /** What the option demanded: `--t5` a T5, `--baseline` a TF-IDF baseline, `--member` anything but an ensemble. */
  readonly expect: 't5' | 'tfidf-logreg' | 'any';
}

export interface PlannedMember extends MemberInput {
  readonly kind: string;
  readonly version?: string;
  readonly manifest: Record<string, unknown>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * `--member NAME=DIR` or `--member DIR` (named after the directory). The `--t5` and `--baseline`
 * members are named `t5` and `baseline`, as the first ensembles were.
 */
export function memberInputs(options: {
  t5?: string | undefined;
  baseline?: string | undefined;
  members?: readonly string[] | undefined;
}): MemberInput[] {
  const inputs: MemberInput[] = [];
  if (options.t5) inputs.push({ name: 't5', dir: options.t5, expect: 't5' });
  if (options.baseline)
    inputs.push({ name: 'baseline', dir: options.baseline, expect: 'tfidf-logreg' });
  for (const spec of options.members ?? []) {
    const eq = spec.indexOf('=');
    const dir = eq > 0 ? spec.slice(eq + 1) : spec;
    const name = eq > 0 ? spec.slice(0, eq) : path.basename(path.resolve(spec));
    if (!NAME.test(name))
      throw new Error(
        `--member ${spec}: the name "${name}" must be 1-64 letters, digits, ".", "_" or "-" (give NAME=DIR)`,
      );
    inputs.push({ name, dir, expect: 'any' });
  }
  const seen = new Set<string>();
  for (const { name } of inputs) {
    if (seen.has(name))
      throw new Error(`two members are named "${name}"; name them with --member NAME=DIR`);
    seen.add(name);
  }
  if (inputs.length < 2)
    throw new Error(
      'an ensemble needs at least two members (--t5, --baseline, --member [NAME=]DIR …)',
    );
  return inputs;
}

async function readManifest(member: MemberInput): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path.join(member.dir, 'classifier.json'), 'utf8')) as Record<
      string,
      unknown
    >;
  } catch (error) {
    throw new Error(
      `member ${member.name} (${member.dir}): cannot read classifier.json (${(error as Error).message})`,
    );
  }
}

export const splitText = (s: { fraction: number; seed: number }) =>
  `fraction ${s.fraction}, seed ${s.seed}`;

/** What a member says it trained on, in the terms the members must agree on. */
interface Provenance {
  splits: Splits;
  file?: string;
  rows: unknown;
  limit?: number;
  extra: string;
}

function provenanceOf(kind: string, manifest: Record<string, unknown>): Provenance {
  const trainedOn = (manifest['trainedOn'] ?? {}) as Record<string, unknown>;
  const splits = splitsFrom(trainedOn);
  // A T5 records --limit among its training options; a baseline in trainedOn.
  const limit =
    kind === 't5'
      ? ((manifest['training'] ?? {}) as { options?: { limit?: unknown } }).options?.limit
      : trainedOn['limit'];
  const extraFiles =
    ((trainedOn as { extra?: { files?: { file?: unknown }[] } }).extra?.files ?? [])
      .map((f) => path.basename(String(f.file)))
      .join(', ') || 'none';
  return {
    splits,
    ...(splits.file !== undefined ? { file: splits.file } : {}),
    rows: trainedOn['rows'],
    ...(typeof limit === 'number' ? { limit } : {}),
    extra: extraFiles,
  };
}

const REMEDY: Record<string, string> = {
  t5: 'Its weight cannot be fitted on the validation split honestly: use a T5 trained with this version of `classifier train`.',
  'tfidf-logreg':
    "Train one without those rows: `classifier baseline --exclude-validation --save DIR` (with the T5's held-out and validation splits).",
};

export interface Plan {
  members: PlannedMember[];
  splits: Required<Pick<Splits, 'holdout' | 'validation'>>;
  file: string;
  rows: number;
  limit?: number;
  note?: string;
}

/**
 * Refuses members the weights could not be fitted on honestly: one that may have trained on
 * validation rows (no recorded validation split — the check `eval --split validation` makes),
 * members with different splits or training rows, or another data file than `data`.
 */
export async function planMembers(inputs: readonly MemberInput[], data: string): Promise<Plan> {
  const members: PlannedMember[] = [];
  const provenance: Provenance[] = [];
  for (const input of inputs) {
    const manifest = await readManifest(input);
    const kind = String(manifest['kind']);
    if (input.expect === 't5' && kind !== 't5')
      throw new Error(`--t5 ${input.dir} holds a ${kind} model, not a T5`);
    if (input.expect === 'tfidf-logreg' && kind !== 'tfidf-logreg')
      throw new Error(`--baseline ${input.dir} holds a ${kind} model, not a TF-IDF baseline`);
    if (kind === 'ensemble')
      throw new Error(
        `member ${input.name} (${input.dir}) is itself an ensemble; give its members instead`,
      );
    const p = provenanceOf(kind, manifest);
    requireValidationSplit(
      input.dir,
      p.splits,
      REMEDY[kind] ?? 'Train it with a validation split kept out.',
    );
    members.push({
      ...input,
      kind,
      ...(typeof manifest['version'] === 'string' ? { version: manifest['version'] } : {}),
      manifest,
    });
    provenance.push(p);
  }
  const first = provenance[0] as Provenance;
  const firstName = (members[0] as PlannedMember).name;
  const file = path.basename(data);
  for (const [i, p] of provenance.entries()) {
    const name = (members[i] as PlannedMember).name;
    if (!sameSplit(first.splits.holdout, p.splits.holdout))
      throw new Error(
        `the members hold out different rows: ${firstName} ${splitText(first.splits.holdout)}, ${name} ${splitText(p.splits.holdout)} (baseline --holdout-fraction/--seed)`,
      );
    if (!sameSplit(first.splits.validation, p.splits.validation))
      throw new Error(
        `the members keep out different validation splits: ${firstName} ${splitText(first.splits.validation as Splits['holdout'])}, ${name} ${splitText(p.splits.validation as Splits['holdout'])} (baseline --validation-fraction/--validation-seed)`,
      );
    if (p.file !== file)
      throw new Error(
        `${name} was trained on ${p.file ?? 'an unrecorded file'}, not ${file}: the validation split of --data must be the one it kept out`,
      );
    if (p.limit !== first.limit)
      throw new Error(
        `${firstName} was trained on ${first.limit === undefined ? 'all rows' : `the first ${first.limit} rows`} of ${file}, ${name} on ${p.limit === undefined ? 'all rows' : `the first ${p.limit}`}: the splits differ (baseline --limit)`,
      );
    if (p.rows !== first.rows)
      throw new Error(
        `${firstName} trained on ${String(first.rows)} rows of ${file}, ${name} on ${String(p.rows)}: they must share their training rows`,
      );
  }
  const extras = new Set(provenance.map((p) => p.extra));
  return {
    members,
    ...(extras.size > 1
      ? {
          note: `note: the members trained on different extra data (${members.map((m, i) => `${m.name}: ${(provenance[i] as Provenance).extra}`).join('; ')}); the validation rows are unseen by all of them all the same`,
        }
      : {}),
    splits: {
      holdout: first.splits.holdout,
      validation: first.splits.validation as Splits['holdout'],
    },
    file,
    rows: Number(first.rows),
    ...(first.limit !== undefined ? { limit: first.limit } : {}),
  };
}
