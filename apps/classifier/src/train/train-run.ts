import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  AdamW,
  collateSeq2Seq,
  createRng,
  createT5,
  disposeBatch,
  loadT5,
  makeSchedule,
  saveT5,
  spanCorruption,
  T5Tokenizer,
  trainUnigramTokenizer,
  type T5Model,
} from '@conveyor/t5';
import { trainingSideWithExtra, type ExtraFileReport } from '../data/extra-data';
import { readDataset } from '../data/read-dataset';
import { selectionSplits } from '../data/selection-split';
import {
  comparisonLines,
  correctness,
  intervalLine,
  trainComparisonBaseline,
} from '../eval/comparison';
import { wilsonInterval, type Interval } from '../eval/confidence';
import { evaluateClasses, type ClassReport } from '../eval/metrics';
import { LABELS, type Label } from '../labels';
import { predictionFrom } from '../model/prediction';
import { ensureBackend, T5QualityClassifier } from '../model/t5-classifier';
import { T5_PREFIX, type T5Manifest } from '../model/t5-manifest';
import { learningCurveSvg, type CurvePoint } from './learning-curve';
import { planEpoch } from './length-batches';
import { labelTargets, tokenizeExamples, type TokenizedExample } from './tokenized-data';
import { trainOptionsSchema, type TrainOptions, type TrainOptionsInput } from './train-options';
import { batchLoss, trainStep } from './train-step';

/** Where a run stands; written with every checkpoint so `--resume` continues exactly there. */
interface RunState {
  optionsHash: string;
  step: number;
  epoch: number;
  batchInEpoch: number;
  history: CurvePoint[];
  examplesSeen: number;
  trainSeconds: number;
}

export interface TrainEvents {
  log(message: string): void;
  progress(
    step: number,
    total: number,
    info: { phase: 'pretrain' | 'finetune'; loss: number },
  ): void;
}

export interface TrainResult {
  readonly out: string;
  /** On the validation split (training never reads the held-out side). */
  readonly report: ClassReport;
  /** The confidence interval and the baseline on the same rows, for printing beside `report`. */
  readonly notes: readonly string[];
  readonly steps: number;
  readonly examplesPerSecond: number;
  readonly stoppedEarly: boolean;
}

/** The options that define the model: changing any of them makes a run dir incompatible. */
function optionsHash(o: TrainOptions): string {
  const {
    timeBudgetMinutes: _t,
    maxSteps: _m,
    epochs: _e,
    evalEvery: _v,
    evalRows: _r,
    out: _o,
    runDir: _d,
    ...defining
  } = o;
  return createHash('sha256').update(JSON.stringify(defining)).digest('hex').slice(0, 16);
}

const countTrue = (xs: readonly boolean[]) => xs.filter(Boolean).length;
const roundInterval = (i: Interval) => ({
  low: Number(i.low.toFixed(4)),
  high: Number(i.high.toFixed(4)),
});

const SENTINELS = 32;
/** Pre-training inputs are cut to this many tokens: span corruption needs context, not whole posts. */
const PRETRAIN_TOKENS = 128;

export async function runTraining(
  input: TrainOptionsInput,
  flags: { resume: boolean },
  events: TrainEvents,
): Promise<TrainResult> {
  const options = trainOptionsSchema.parse(input);
  const hash = optionsHash(options);
  const statePath = path.join(options.runDir, 'state.json');
  const checkpointDir = path.join(options.runDir, 'checkpoint');
  mkdirSync(options.runDir, { recursive: true });
  let state: RunState = {
    optionsHash: hash,
    step: 0,
    epoch: 0,
    batchInEpoch: 0,
    history: [],
    examplesSeen: 0,
    trainSeconds: 0,
  };
  if (existsSync(statePath)) {
    if (!flags.resume) {
      throw new Error(
        `${options.runDir} already holds a training run; pass --resume to continue it or choose another --run-dir`,
      );
    }
    state = JSON.parse(readFileSync(statePath, 'utf8')) as RunState;
    if (state.optionsHash !== hash) {
      throw new Error(
        `${options.runDir} holds a run with different data/model options (hash ${state.optionsHash}, now ${hash}); resume with the same options or use another --run-dir`,
      );
    }
    events.log(
      `resuming at step ${state.step} (epoch ${state.epoch}, batch ${state.batchInEpoch})`,
    );
  }
  writeFileSync(path.join(options.runDir, 'options.json'), JSON.stringify(options, null, 2) + '\n');

  const backend = await ensureBackend();
  events.log(`backend: ${backend}`);
  const dataset = await readDataset(
    options.data,
    options.limit !== undefined ? { limit: options.limit } : {},
  );
  // Three disjoint parts: training rows, the validation split every choice during and after
  // training is made on, and the held-out side, which training never reads (only `eval --split
  // holdout` does, once per shipped model).
  const splits = selectionSplits(dataset.examples, options.holdout, options.validation);
  const mainTrainSide = splits.train;
  const validationSide = splits.validation;
  events.log(
    `data: ${dataset.file} (${dataset.format}); ${mainTrainSide.length} training rows, ${validationSide.length} validation rows ` +
      `(fraction ${options.validation.fraction} of the training side, seed ${options.validation.seed}), ` +
      `${splits.heldOut.length} held out (fraction ${options.holdout.fraction}, seed ${options.holdout.seed}; not read by training)`,
  );
  // Extra rows join the training side only, after the split, minus any copy of a validation or
  // held-out row.
  let extraReports: ExtraFileReport[] = [];
  let trainSide = mainTrainSide;
  if (options.extra) {
    const extra = await trainingSideWithExtra(
      options.extra,
      { train: mainTrainSide, validation: [...validationSide, ...splits.heldOut] },
      (line) => events.log(line),
    );
    extraReports = extra.reports;
    trainSide = extra.train;
    events.log(`training side: ${trainSide.length} rows in all`);
  }
  // The TF-IDF baseline on the same training rows, scored on the same validation rows as the T5,
  // so every figure training prints has its baseline beside it.
  const baseline = trainComparisonBaseline(trainSide, options.data, {
    holdout: options.holdout,
    validation: options.validation,
  });
  const baselinePredictions = await baseline.predict(validationSide.map((e) => e.text));
  const baselineRight = correctness(validationSide, baselinePredictions, 'class');

  const tokenizerDir = path.join(options.runDir, 'tokenizer');
  let tokenizer: T5Tokenizer;
  if (options.tokenizer) tokenizer = T5Tokenizer.fromPath(options.tokenizer);
  else if (existsSync(path.join(tokenizerDir, 'tokenizer.json')))
    tokenizer = T5Tokenizer.fromPath(tokenizerDir);
  else {
    const started = performance.now();
    // The vocabulary is learnt from the training side only, so held-out text never shapes it.
    tokenizer = trainUnigramTokenizer(
      trainSide.map((e) => e.text),
      { vocabSize: options.vocabSize, extraIds: SENTINELS },
    );
    tokenizer.save(tokenizerDir);
    events.log(
      `tokenizer: trained a ${tokenizer.vocabSize}-piece Unigram vocabulary in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  const window = {
    prefix: T5_PREFIX,
    headTokens: options.headTokens,
    tailTokens: options.tailTokens,
    cacheDir: options.runDir,
  };
  const train = tokenizeExamples(trainSide, tokenizer, window);
  const validation = tokenizeExamples(validationSide, tokenizer, window);
  const targets = labelTargets(tokenizer);

  if (options.init && !options.tokenizer) {
    throw new Error(
      `--init ${options.init} needs --tokenizer with the tokenizer those weights were trained with`,
    );
  }
  const model: T5Model =
    existsSync(path.join(checkpointDir, 'config.json')) && flags.resume
      ? loadT5(checkpointDir)
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
  const optimizer = new AdamW({ weightDecay: options.weightDecay });
  const manifestBase = (): T5Manifest => ({
    kind: 't5',
    version: `t5-so-quality-${hash}`,
    prefix: T5_PREFIX,
    headTokens: options.headTokens,
    tailTokens: options.tailTokens,
    trainedOn: {
      file: path.basename(options.data),
      rows: mainTrainSide.length,
      holdout: options.holdout,
      validation: options.validation,
      ...(options.extra
        ? {
            extra: {
              labels: options.extra.labels ?? [...LABELS],
              dropEmptyBody: options.extra.dropEmptyBody,
              files: extraReports.map((r) => ({ ...r, file: path.basename(r.file) })),
            },
          }
        : {}),
    },
  });
  const classifier = new T5QualityClassifier(model, tokenizer, manifestBase());

  const collate = {
    padTokenId: tokenizer.padTokenId,
    decoderStartTokenId: model.config.decoderStartTokenId,
  };
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
      `(${(model.variables().reduce((n, v) => n + v.size, 0) / 1e6).toFixed(2)} M parameters); ` +
      `${options.pretrainSteps} pre-training + ${finetuneSteps} fine-tuning steps (${batchesPerEpoch} batches per epoch)`,
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
        collate,
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

  const checkpoint = async (point: CurvePoint) => {
    state.history.push(point);
    await saveT5(model, checkpointDir);
    writeFileSync(statePath, JSON.stringify(state));
    writeFileSync(
      path.join(options.runDir, 'history.json'),
      JSON.stringify(state.history, null, 2) + '\n',
    );
    writeFileSync(
      path.join(options.runDir, 'learning-curve.svg'),
      learningCurveSvg(state.history, `T5 question-quality classifier (${hash})`),
    );
  };

  const started = performance.now();
  const baseSeconds = state.trainSeconds;
  let lossSinceEval = 0;
  let stepsSinceEval = 0;
  let stoppedEarly = false;
  let stepSeconds = 0;
  const evalSubset = validation.slice(0, Math.min(options.evalRows, validation.length));
  while (state.step < totalSteps) {
    const phase: CurvePoint['phase'] = state.step < options.pretrainSteps ? 'pretrain' : 'finetune';
    const stepRng = createRng(`${options.seed}:step:${state.step}`);
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
    const batch = collateSeq2Seq(rows, collate);
    const { loss } = trainStep(model, optimizer, batch, {
      learningRate,
      maxGradNorm: options.maxGradNorm,
      nextDropoutSeed: () => stepRng.seed(),
    });
    disposeBatch(batch);
    stepSeconds += (performance.now() - t0) / 1000;
    state.step += 1;
    state.examplesSeen += phase === 'finetune' ? rows.length : 0;
    lossSinceEval += loss;
    stepsSinceEval += 1;
    events.progress(state.step, totalSteps, { phase, loss });

    const outOfTime =
      options.timeBudgetMinutes !== undefined &&
      (performance.now() - started) / 60_000 >= options.timeBudgetMinutes;
    if (state.step % options.evalEvery === 0 || state.step === totalSteps || outOfTime) {
      state.trainSeconds = baseSeconds + stepSeconds;
      const point: CurvePoint =
        phase === 'pretrain'
          ? { step: state.step, phase, trainLoss: lossSinceEval / stepsSinceEval }
          : (() => {
              const { loss: validationLoss, report } = evaluate(evalSubset);
              return {
                step: state.step,
                phase,
                trainLoss: lossSinceEval / stepsSinceEval,
                validationLoss,
                validationAccuracy: report.accuracy,
              };
            })();
      const baselineOnSubset =
        baselineRight.slice(0, evalSubset.length).filter(Boolean).length /
        Math.max(1, evalSubset.length);
      await checkpoint(point);
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
    }
  }

  const final = evaluate(validation);
  const examplesPerSecond = state.examplesSeen / Math.max(1e-9, state.trainSeconds);
  const manifest: T5Manifest = {
    ...manifestBase(),
    training: {
      steps: state.step,
      pretrainSteps: Math.min(state.step, options.pretrainSteps),
      epochsCompleted: state.epoch + state.batchInEpoch / Math.max(1, batchesPerEpoch),
      stoppedEarly,
      backend,
      trainSeconds: Math.round(state.trainSeconds),
      examplesPerSecond: Number(examplesPerSecond.toFixed(2)),
      options: {
        ...options,
        data: path.basename(options.data),
        ...(options.extra
          ? {
              extra: {
                ...options.extra,
                files: options.extra.files.map((f) => path.basename(f)),
              },
            }
          : {}),
        runDir: undefined,
        out: undefined,
      },
    },
    metrics: {
      split: `validation split of ${path.basename(options.data)} (fraction ${options.validation.fraction} of the training side, seed ${options.validation.seed}; held out: fraction ${options.holdout.fraction}, seed ${options.holdout.seed})`,
      rows: final.report.total,
      accuracy: Number(final.report.accuracy.toFixed(4)),
      interval95: roundInterval(wilsonInterval(countTrue(final.right), final.right.length)),
      baseline: {
        model: 'TF-IDF + logistic regression trained on the same training rows',
        accuracy: Number((countTrue(baselineRight) / Math.max(1, baselineRight.length)).toFixed(4)),
        interval95: roundInterval(wilsonInterval(countTrue(baselineRight), baselineRight.length)),
      },
      validationLoss: Number(final.loss.toFixed(4)),
      perClass: Object.fromEntries(
        LABELS.map((l: Label) => [
          l,
          {
            precision: Number(final.report.perClass[l].precision.toFixed(4)),
            recall: Number(final.report.perClass[l].recall.toFixed(4)),
          },
        ]),
      ),
      confusionMatrix: final.report.matrix,
    },
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
