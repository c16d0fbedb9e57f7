import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  AdamW,
  collateSeq2Seq,
  createRng,
  createT5,
  disposeBatch,
  loadT5,
  makeSchedule,
  spanCorruption,
  type T5Model,
} from '@conveyor/t5';
import { comparisonLines, intervalLine } from '../eval/comparison';
import { evaluateClasses, type ClassReport } from '../eval/metrics';
import { predictionFrom } from '../model/prediction';
import { ensureBackend, T5QualityClassifier } from '../model/t5-classifier';
import type { T5Manifest } from '../model/t5-manifest';
import {
  CheckpointStore,
  readBest,
  saveBest,
  writeFileAtomic,
  type RunState,
  type SavedState,
} from './checkpoint-store';
import { learningCurveSvg, type CurvePoint } from './learning-curve';
import { planEpoch } from './length-batches';
import { parallelEngine } from './parallel/parallel-engine';
import { singleThreadEngine, type StepEngine } from './step-engine';
import { baseManifest, publicOptions, validationMetrics } from './train-manifest';
import { prepareTrainingData, SENTINELS } from './train-data';
import type { TokenizedExample } from './tokenized-data';
import {
  SESSION_OPTIONS,
  trainOptionsSchema,
  type TrainOptions,
  type TrainOptionsInput,
} from './train-options';
import { batchLoss } from './train-step';
import { initEmbeddingsFromWordVectors, readWordVectors } from './word-vectors';

export interface TrainEvents {
  log(message: string): void;
  progress(
    step: number,
    total: number,
    info: { phase: 'pretrain' | 'finetune'; loss: number },
  ): void;
}

export interface TrainFlags {
  /** Continue the run in runDir from its newest checkpoint. */
  resume: boolean;
  /** Aborting (SIGINT/SIGTERM in the CLI) checkpoints after the current step and stops. */
  signal?: AbortSignal;
  /** Checkpoint and stop once the run reaches this step (a session's share of a longer run). */
  stopAtStep?: number;
}

/** A run ends finished (model written to `out`) or stopped with a checkpoint to resume from. */
export type TrainResult =
  | {
      readonly status: 'finished';
      readonly out: string;
      /** On the validation split (training never reads the held-out side). */
      readonly report: ClassReport;
      /** The confidence interval and the baseline on the same rows, for printing beside `report`. */
      readonly notes: readonly string[];
      readonly steps: number;
      readonly examplesPerSecond: number;
      readonly stoppedEarly: boolean;
    }
  | {
      readonly status: 'stopped';
      readonly reason: 'signal' | 'stop-at-step';
      readonly steps: number;
      readonly checkpoint: string;
    };

/** The options that define the run: changing any of them makes a run dir incompatible. */
export function optionsHash(o: TrainOptions): string {
  const defining: Record<string, unknown> = { ...o };
  for (const key of SESSION_OPTIONS) delete defining[key];
  return createHash('sha256').update(JSON.stringify(defining)).digest('hex').slice(0, 16);
}

/** Pre-training inputs are cut to this many tokens: span corruption needs context, not whole posts. */
const PRETRAIN_TOKENS = 128;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function runTraining(
  input: TrainOptionsInput,
  flags: TrainFlags,
  events: TrainEvents,
): Promise<TrainResult> {
  const options = trainOptionsSchema.parse(input);
  const hash = optionsHash(options);
  mkdirSync(options.runDir, { recursive: true });
  const store = new CheckpointStore(options.runDir);
  let state: RunState = {
    optionsHash: hash,
    step: 0,
    epoch: 0,
    batchInEpoch: 0,
    history: [],
    examplesSeen: 0,
    trainSeconds: 0,
  };
  let resumeFrom: ReturnType<CheckpointStore['latest']> | undefined;
  if (store.exists()) {
    if (!flags.resume) {
      throw new Error(
        `${options.runDir} already holds a training run; pass --resume to continue it or choose another --run-dir`,
      );
    }
    resumeFrom = store.latest();
    if (resumeFrom.state.optionsHash !== hash) {
      throw new Error(
        `${options.runDir} holds a run with different data/model options (hash ${resumeFrom.state.optionsHash}, now ${hash}); resume with the same options or use another --run-dir`,
      );
    }
    const { format: _f, savedAt: _s, rng: _r, options: _o, ...saved } = resumeFrom.state;
    state = saved;
    events.log(
      `resuming at step ${state.step} (epoch ${state.epoch}, batch ${state.batchInEpoch}) from ${resumeFrom.dir}`,
    );
  }
  writeFileAtomic(
    path.join(options.runDir, 'options.json'),
    JSON.stringify(options, null, 2) + '\n',
  );

  const backend = await ensureBackend();
  events.log(`backend: ${backend}`);
  const data = await prepareTrainingData(options, events.log);
  const { tokenizer, train, validation, targets, baselineRight } = data;

  if (options.init && !options.tokenizer) {
    throw new Error(
      `--init ${options.init} needs --tokenizer with the tokenizer those weights were trained with`,
    );
  }
  const model: T5Model = resumeFrom
    ? resumeFrom.model()
    : options.init
      ? loadT5(options.init)
      : createT5(
          {
            vocabSize: tokenizer.vocabSize,
            ...options.model,
            numDecoderLayers: options.model.numLayers,
            padTokenId: tokenizer.padTokenId,
            eosTokenId: tokenizer.eosTokenId,
            decoderStartTokenId: tokenizer.padTokenId,
          },
          { seed: options.seed },
        );
  if (options.wordVectors && !resumeFrom) {
    if (options.init)
      throw new Error(
        '--word-vectors initialises a fresh model; it cannot be combined with --init',
      );
    const started = performance.now();
    const vectors = readWordVectors(options.wordVectors);
    const filled = initEmbeddingsFromWordVectors(model, tokenizer, vectors, options.seed);
    events.log(
      `word vectors: ${vectors.size} ${vectors.dimensions}-d vectors from ${options.wordVectors} (${((performance.now() - started) / 1000).toFixed(1)} s); ` +
        `${filled.wholeWords} whole-word and ${filled.subWords} sub-word pieces initialised through a fixed random projection, ${filled.random} random`,
    );
  }
  const optimizer = new AdamW({ weightDecay: options.weightDecay });
  resumeFrom?.restore(optimizer, model);
  const classifier = new T5QualityClassifier(model, tokenizer, baseManifest(options, hash, data));

  const lengths = train.map((e) => e.inputIds.length);
  const plan = (epoch: number) =>
    planEpoch(lengths, {
      maxTokensPerBatch: options.maxTokensPerBatch,
      maxBatchSize: options.maxBatchSize,
      seed: options.seed,
      epoch,
    });
  const batchesPerEpoch = plan(0).length;
  const finetuneSteps = Math.min(options.maxSteps ?? Infinity, options.epochs * batchesPerEpoch);
  const totalSteps = options.pretrainSteps + finetuneSteps;
  const finetuneSchedule = makeSchedule({
    kind: 'linear',
    learningRate: options.learningRate,
    warmupSteps: Math.min(options.warmupSteps, finetuneSteps - 1),
    totalSteps: finetuneSteps,
  });
  const pretrainSchedule = makeSchedule({
    kind: 'inverse-sqrt',
    learningRate: options.pretrainLearningRate,
    warmupSteps: Math.min(100, options.pretrainSteps),
  });
  events.log(
    `model: d=${model.config.dModel} layers=${model.config.numLayers}+${model.config.numDecoderLayers} vocab=${model.config.vocabSize} ` +
      `(${(model.numParameters() / 1e6).toFixed(2)} M parameters); ` +
      `${options.pretrainSteps} pre-training + ${finetuneSteps} fine-tuning steps (${batchesPerEpoch} batches per epoch); ${options.threads} training thread(s)`,
  );

  const evaluate = (
    rows: readonly TokenizedExample[],
  ): { loss: number; report: ClassReport; right: boolean[] } => {
    let lossSum = 0;
    let count = 0;
    for (let i = 0; i < rows.length; i += 32) {
      const chunk = rows.slice(i, i + 32);
      const batch = collateSeq2Seq(
        chunk.map((e) => ({ inputIds: e.inputIds, labels: targets[e.label] })),
        { padTokenId: tokenizer.padTokenId, decoderStartTokenId: model.config.decoderStartTokenId },
      );
      lossSum += batchLoss(model, batch) * chunk.length;
      count += chunk.length;
      disposeBatch(batch);
    }
    const predicted = classifier
      .probabilitiesFor(rows.map((e) => e.inputIds))
      .map((p) => predictionFrom(p).label);
    return {
      loss: lossSum / Math.max(1, count),
      report: evaluateClasses(
        rows.map((e) => e.label),
        predicted,
      ),
      right: rows.map((e, i) => e.label === predicted[i]),
    };
  };

  const engine: StepEngine =
    options.threads === 2
      ? await parallelEngine(model, optimizer, {
          maxGradNorm: options.maxGradNorm,
          weightDecay: options.weightDecay,
          padTokenId: tokenizer.padTokenId,
          labelSmoothing: options.labelSmoothing,
        })
      : singleThreadEngine(model, optimizer, {
          maxGradNorm: options.maxGradNorm,
          padTokenId: tokenizer.padTokenId,
          labelSmoothing: options.labelSmoothing,
        });

  let lastCheckpoint = performance.now();
  const checkpoint = async (): Promise<string> => {
    await engine.sync();
    const saved: SavedState = {
      ...state,
      format: 2,
      savedAt: new Date().toISOString(),
      rng: { algorithm: 'alea', epochOrder: '<seed>:<epoch>', perStep: '<seed>:step:<step>' },
      options,
    };
    const dir = await store.save(model, optimizer, saved);
    writeFileAtomic(
      path.join(options.runDir, 'history.json'),
      JSON.stringify(state.history, null, 2) + '\n',
    );
    writeFileAtomic(
      path.join(options.runDir, 'learning-curve.svg'),
      learningCurveSvg(state.history, `T5 question-quality classifier (${hash})`),
    );
    lastCheckpoint = performance.now();
    return dir;
  };

  const started = performance.now();
  const baseSeconds = state.trainSeconds;
  let lossSinceEval = 0;
  let stepsSinceEval = 0;
  let stoppedEarly = false;
  let stepSeconds = 0;
  const evalSubset = validation.slice(0, Math.min(options.evalRows, validation.length));
  const baselineOnSubset =
    baselineRight.slice(0, evalSubset.length).filter(Boolean).length /
    Math.max(1, evalSubset.length);
  try {
    while (state.step < totalSteps) {
      const stop: 'signal' | 'stop-at-step' | undefined = flags.signal?.aborted
        ? 'signal'
        : flags.stopAtStep !== undefined && state.step >= flags.stopAtStep
          ? 'stop-at-step'
          : undefined;
      if (stop) {
        const dir = await checkpoint();
        events.log(
          `stopped at step ${state.step}/${totalSteps} (${stop === 'signal' ? 'interrupted' : '--stop-at-step'}); checkpoint ${dir}; continue with --resume`,
        );
        return { status: 'stopped', reason: stop, steps: state.step, checkpoint: dir };
      }
      const phase: CurvePoint['phase'] =
        state.step < options.pretrainSteps ? 'pretrain' : 'finetune';
      const stepKey = `${options.seed}:step:${state.step}`;
      const stepRng = createRng(stepKey);
      let rows: { inputIds: number[]; labels: number[] }[];
      let learningRate: number;
      if (phase === 'pretrain') {
        // T5's unsupervised objective on the training texts: predict masked spans.
        rows = Array.from({ length: options.maxBatchSize }, () => {
          const ids = (train[stepRng.int(train.length)] as TokenizedExample).inputIds
            .slice(0, -1)
            .slice(0, PRETRAIN_TOKENS);
          return spanCorruption(ids, {
            sentinelId: (i) => tokenizer.sentinelId(Math.min(i, SENTINELS - 1)),
            eosTokenId: tokenizer.eosTokenId,
            rng: stepRng,
          });
        });
        learningRate = pretrainSchedule(state.step);
      } else {
        let batches = plan(state.epoch);
        if (state.batchInEpoch >= batches.length) {
          state.epoch += 1;
          state.batchInEpoch = 0;
          batches = plan(state.epoch);
        }
        rows = (batches[state.batchInEpoch] as number[]).map((i) => {
          const e = train[i] as TokenizedExample;
          return { inputIds: e.inputIds, labels: targets[e.label] };
        });
        state.batchInEpoch += 1;
        learningRate = finetuneSchedule(state.step - options.pretrainSteps);
      }
      const t0 = performance.now();
      const { loss } = await engine.step({
        rows,
        learningRate,
        stepKey,
        nextDropoutSeed: () => stepRng.seed(),
      });
      stepSeconds += (performance.now() - t0) / 1000;
      state.step += 1;
      state.examplesSeen += phase === 'finetune' ? rows.length : 0;
      state.trainSeconds = baseSeconds + stepSeconds;
      lossSinceEval += loss;
      stepsSinceEval += 1;
      events.progress(state.step, totalSteps, { phase, loss });
      // Lets SIGINT/SIGTERM handlers run between steps (a step itself is synchronous).
      await yieldToEventLoop();

      const outOfTime =
        options.timeBudgetMinutes !== undefined &&
        (performance.now() - started) / 60_000 >= options.timeBudgetMinutes;
      if (state.step % options.evalEvery === 0 || state.step === totalSteps || outOfTime) {
        let point: CurvePoint = {
          step: state.step,
          phase,
          trainLoss: lossSinceEval / stepsSinceEval,
        };
        if (phase === 'finetune') {
          await engine.sync();
          const { loss: validationLoss, report } = evaluate(evalSubset);
          point = { ...point, validationLoss, validationAccuracy: report.accuracy };
          // Earliest best wins ties: later equal scores add no evidence for more training.
          const best = readBest(options.runDir);
          if (!best || report.accuracy > best.record.accuracy)
            await saveBest(options.runDir, model, {
              step: state.step,
              accuracy: report.accuracy,
              rows: evalSubset.length,
            });
        }
        state.history.push(point);
        await checkpoint();
        events.log(
          `step ${state.step}/${totalSteps} ${phase}: train loss ${point.trainLoss.toFixed(4)}` +
            (point.validationAccuracy !== undefined
              ? `, validation loss ${point.validationLoss?.toFixed(4)}, accuracy ${point.validationAccuracy.toFixed(4)} (${evalSubset.length} rows; TF-IDF baseline ${baselineOnSubset.toFixed(4)})`
              : ''),
        );
        lossSinceEval = 0;
        stepsSinceEval = 0;
        if (outOfTime && state.step < totalSteps) {
          events.log(
            `time budget of ${options.timeBudgetMinutes} min reached at step ${state.step}: finishing with this model`,
          );
          stoppedEarly = true;
          break;
        }
      } else if (
        (options.checkpointEvery !== undefined && state.step % options.checkpointEvery === 0) ||
        performance.now() - lastCheckpoint >= options.checkpointMinutes * 60_000
      ) {
        await checkpoint();
      }
    }
    await engine.sync();
  } finally {
    await engine.dispose();
  }

  const best = readBest(options.runDir);
  if (options.select === 'best' && best && best.record.step !== state.step) {
    const chosen = loadT5(best.dir);
    for (const [name, v] of model.params) v.assign(chosen.param(name));
    chosen.dispose();
    events.log(
      `selected the weights of step ${best.record.step} (validation accuracy ${best.record.accuracy.toFixed(4)} on ${best.record.rows} rows at that evaluation) over the last step ${state.step}`,
    );
  }
  const final = evaluate(validation);
  const examplesPerSecond = state.examplesSeen / Math.max(1e-9, state.trainSeconds);
  const manifest: T5Manifest = {
    ...baseManifest(options, hash, data),
    training: {
      steps: state.step,
      pretrainSteps: Math.min(state.step, options.pretrainSteps),
      epochsCompleted: state.epoch + state.batchInEpoch / Math.max(1, batchesPerEpoch),
      stoppedEarly,
      selected:
        options.select === 'best' && best
          ? { select: 'best', ...best.record }
          : { select: 'last', step: state.step },
      backend,
      trainSeconds: Math.round(state.trainSeconds),
      examplesPerSecond: Number(examplesPerSecond.toFixed(2)),
      options: publicOptions(options),
    },
    metrics: validationMetrics(options, final, baselineRight),
  };
  const finished = new T5QualityClassifier(model, tokenizer, manifest);
  await finished.save(options.out);
  copyFileSync(
    path.join(options.runDir, 'learning-curve.svg'),
    path.join(options.out, 'learning-curve.svg'),
  );
  copyFileSync(path.join(options.runDir, 'history.json'), path.join(options.out, 'history.json'));
  optimizer.dispose();
  events.log(
    `saved ${options.out}: validation accuracy ${final.report.accuracy.toFixed(4)} on ${final.report.total} validation rows`,
  );
  return {
    status: 'finished',
    out: options.out,
    report: final.report,
    notes: [
      intervalLine(final.right),
      ...comparisonLines('TF-IDF baseline (trained on the same rows)', final.right, baselineRight),
    ],
    steps: state.step,
    examplesPerSecond,
    stoppedEarly,
  };
}
