// Public API of @conveyor/t5. Keep names stable: the classifier builds on them.
export {
  T5_SMALL_CONFIG,
  defineT5Config,
  feedForwardKind,
  t5ConfigFromHF,
  t5ConfigToHF,
  validateT5Config,
} from './config';
export type { T5Config, FeedForwardActivation, FeedForwardKind } from './config';
export { t5ParameterSpecs, countParameters, TIED_EMBEDDING_ALIASES } from './parameters';
export type { ParameterSpec } from './parameters';
export { relativePositionBucket, relativePositionBuckets } from './relative-position';
export { T5Model } from './model';
export type { ForwardOptions, Seq2SeqInputs } from './model';
export { createT5 } from './create';
export type { CreateT5Options } from './create';
export { loadT5, saveT5, CONFIG_FILE, WEIGHTS_FILE } from './checkpoint';
export { readSafetensors, writeSafetensors } from './safetensors';
export type { NamedTensor, SafetensorsFile, SafetensorsDtype } from './safetensors';
export { collateSeq2Seq, disposeBatch, padSequences, shiftRight } from './batch';
export type { Seq2SeqExample, T5Batch, CollateOptions } from './batch';
export { maskedCrossEntropy, tokenLogProbs } from './loss';
export { AdamW, clipByGlobalNorm, serializeAdamWState, deserializeAdamWState } from './optimizer';
export type { AdamWOptions, AdamWState, Optimizer } from './optimizer';
export { Adafactor } from './adafactor';
export type { AdafactorOptions } from './adafactor';
export { makeSchedule } from './schedule';
export type { LearningRateSchedule, ScheduleOptions } from './schedule';
export { T5Trainer } from './trainer';
export type { TrainerOptions, StepResult } from './trainer';
export { greedyGenerate, scoreCandidates, candidateProbabilities } from './inference';
export type { GenerateOptions } from './inference';
export { T5Tokenizer, TOKENIZER_FILE, TOKENIZER_CONFIG_FILE } from './tokenizer';
export { PrecompiledNormalizer } from './precompiled-normalizer';
export type { EncodeOptions, T5TokenizerOptions } from './tokenizer';
export { trainUnigramTokenizer, normalizeForUnigram } from './unigram-trainer';
export type { UnigramTrainerOptions } from './unigram-trainer';
export { spanCorruption, randomSpansNoiseMask } from './span-corruption';
export type { SpanCorruptionOptions, SpanCorruptionExample } from './span-corruption';
export { createRng, shuffle } from './random';
export type { Rng } from './random';
// Backend choice and the wasm kernels are shared with the other TensorFlow.js libraries.
export {
  initBackend,
  BACKEND_ORDER,
  BACKEND_ENV,
  registerWasmSegmentSum,
  registerWasmBatchMatMul,
  registerWasmGather,
  useXnnpackBatchMatMul,
} from '@conveyor/tfjs-runtime';
export type { BackendChoice, BackendChoiceName, InitBackendOptions } from '@conveyor/tfjs-runtime';
