import path from 'node:path';
import { LABELS } from '../labels';
import {
  combineProbabilities,
  ensembleManifestSchema,
  type EnsembleManifest,
} from './ensemble-manifest';
import { predictionFrom, type Prediction, type QualityClassifier } from './prediction';

/** Loads one member directory (loadClassifier, passed in to keep the two modules acyclic). */
export type MemberLoader = (dir: string) => Promise<QualityClassifier>;

interface Split {
  fraction: number;
  seed: number;
}
const sameSplit = (a: Split, b: Split) => a.fraction === b.fraction && a.seed === b.seed;
const describeSplit = (s: Split) => `fraction ${s.fraction}, seed ${s.seed}`;

/**
 * Several models' class probabilities combined with fixed weights (chosen on the validation
 * split by `classifier ensemble`). Each batch goes to every member whole — the T5 groups it by
 * length itself — so dynamic batching in the HTTP and AMQP services works as for one model.
 */
export class EnsembleClassifier implements QualityClassifier {
  readonly kind = 'ensemble' as const;
  readonly maxBatchSize: number;
  private readonly weights: number[];

  constructor(
    readonly members: readonly QualityClassifier[],
    readonly manifest: EnsembleManifest,
  ) {
    this.weights = manifest.members.map((m) => m.weight);
    // The strictest member bounds the batch (the T5's 64, not the baseline's 1024).
    this.maxBatchSize = Math.min(...members.map((m) => m.maxBatchSize));
  }

  get description(): Record<string, unknown> {
    return {
      kind: this.kind,
      version: this.manifest.version,
      combine: this.manifest.combine,
      members: this.manifest.members.map((m, i) => ({
        dir: m.dir,
        weight: m.weight,
        model: this.members[i]?.description,
      })),
      trainedOn: this.manifest.trainedOn,
      ...(this.manifest.fit ? { fit: this.manifest.fit } : {}),
    };
  }

  static async load(
    dir: string,
    manifestJson: unknown,
    loadMember: MemberLoader,
  ): Promise<EnsembleClassifier> {
    const manifestPath = path.join(dir, 'classifier.json');
    const parsed = ensembleManifestSchema.safeParse(manifestJson);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`)
        .join('; ');
      throw new Error(`${manifestPath} is not a valid ensemble manifest (${issues})`);
    }
    const manifest = parsed.data;
    const members: QualityClassifier[] = [];
    try {
      for (const [i, member] of manifest.members.entries()) {
        const memberDir = path.resolve(dir, member.dir);
        let model: QualityClassifier;
        try {
          model = await loadMember(memberDir);
        } catch (error) {
          throw new Error(
            `${manifestPath}: member ${i} ("${member.dir}", resolved to ${memberDir}) cannot be loaded: ${(error as Error).message}`,
          );
        }
        members.push(model);
        if (model.kind === 'ensemble')
          throw new Error(
            `${manifestPath}: member ${i} ("${member.dir}") is itself an ensemble; list its members directly`,
          );
        checkMemberSplits(manifestPath, i, member.dir, model, manifest);
      }
    } catch (error) {
      for (const m of members) m.dispose();
      throw error;
    }
    return new EnsembleClassifier(members, manifest);
  }

  async predict(texts: readonly string[]): Promise<Prediction[]> {
    if (texts.length === 0) return [];
    const perMember: Prediction[][] = [];
    // One member after the other: the T5 is synchronous compute on the same cores anyway.
    for (const [i, member] of this.members.entries())
      perMember.push(this.weights[i] === 0 ? [] : await member.predict(texts));
    return texts.map((_, row) => {
      const used: number[][] = [];
      const weights: number[] = [];
      perMember.forEach((predictions, i) => {
        const prediction = predictions[row];
        if (!prediction) return;
        used.push(LABELS.map((label) => prediction.probabilities[label]));
        weights.push(this.weights[i] as number);
      });
      return predictionFrom(combineProbabilities(this.manifest.combine, used, weights));
    });
  }

  dispose(): void {
    for (const m of this.members) m.dispose();
  }
}

/**
 * A member trained with another held-out (or validation) split than the ensemble records would
 * make `eval --split holdout` score rows that member learnt from: refuse to load it.
 */
function checkMemberSplits(
  manifestPath: string,
  index: number,
  dir: string,
  model: QualityClassifier,
  manifest: EnsembleManifest,
): void {
  const trainedOn = (model.description['trainedOn'] ?? {}) as Record<string, unknown>;
  const own = {
    holdout: trainedOn['holdout'] as Split | undefined,
    validation: trainedOn['validation'] as Split | undefined,
  };
  const expected = manifest.trainedOn;
  if (own.holdout && !sameSplit(own.holdout, expected.holdout))
    throw new Error(
      `${manifestPath}: member ${index} ("${dir}") held out ${describeSplit(own.holdout)}, the ensemble records ${describeSplit(expected.holdout)}`,
    );
  if (expected.validation && !(own.validation && sameSplit(own.validation, expected.validation)))
    throw new Error(
      `${manifestPath}: the ensemble was fitted on the validation split (${describeSplit(expected.validation)}) but member ${index} ("${dir}") ` +
        (own.validation
          ? `kept out another one (${describeSplit(own.validation)})`
          : 'records none, so it may have trained on those rows'),
    );
}
