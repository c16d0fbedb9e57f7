// T5 hyper-parameters, with conversion to and from HuggingFace `config.json` so checkpoints written
// by transformers load here and ours load there.

export type FeedForwardActivation = 'relu' | 'gelu' | 'gelu_new';

export interface T5Config {
  vocabSize: number;
  dModel: number;
  dKv: number;
  dFf: number;
  numLayers: number;
  numDecoderLayers: number;
  numHeads: number;
  relativeAttentionNumBuckets: number;
  relativeAttentionMaxDistance: number;
  dropoutRate: number;
  layerNormEpsilon: number;
  /** HF `feed_forward_proj`: "relu" (T5 v1.0) or "gated-gelu" (v1.1); "gated-relu", "gelu" also accepted. */
  feedForwardProj: string;
  /** v1.0 ties the output projection to `shared` (and rescales by dModel^-0.5); v1.1 has its own lm_head. */
  tieWordEmbeddings: boolean;
  initializerFactor: number;
  padTokenId: number;
  eosTokenId: number;
  decoderStartTokenId: number;
}

export const T5_SMALL_CONFIG: T5Config = {
  vocabSize: 32128,
  dModel: 512,
  dKv: 64,
  dFf: 2048,
  numLayers: 6,
  numDecoderLayers: 6,
  numHeads: 8,
  relativeAttentionNumBuckets: 32,
  relativeAttentionMaxDistance: 128,
  dropoutRate: 0.1,
  layerNormEpsilon: 1e-6,
  feedForwardProj: 'relu',
  tieWordEmbeddings: true,
  initializerFactor: 1.0,
  padTokenId: 0,
  eosTokenId: 1,
  decoderStartTokenId: 0,
};

/** Builds a full config from overrides, defaulting to t5-small; `numDecoderLayers` follows `numLayers` unless given. */
export function defineT5Config(overrides: Partial<T5Config> = {}): T5Config {
  const config: T5Config = {
    ...T5_SMALL_CONFIG,
    ...overrides,
    numDecoderLayers:
      overrides.numDecoderLayers ?? overrides.numLayers ?? T5_SMALL_CONFIG.numDecoderLayers,
  };
  validateT5Config(config);
  return config;
}

export interface FeedForwardKind {
  gated: boolean;
  activation: FeedForwardActivation;
}

/** Mirrors HF T5Config.__init__: "gated-gelu" means gelu_new (tanh approximation) for backwards compatibility. */
export function feedForwardKind(config: T5Config): FeedForwardKind {
  const parts = config.feedForwardProj.split('-');
  const gated = parts[0] === 'gated';
  if (parts.length > 2 || (parts.length === 2 && !gated)) {
    throw new Error(
      `feedForwardProj "${config.feedForwardProj}" is not valid: use "relu", "gelu", "gated-relu" or "gated-gelu"`,
    );
  }
  const name = parts[parts.length - 1] ?? '';
  if (config.feedForwardProj === 'gated-gelu') return { gated: true, activation: 'gelu_new' };
  if (name !== 'relu' && name !== 'gelu' && name !== 'gelu_new') {
    throw new Error(
      `feedForwardProj activation "${name}" is not supported: use relu, gelu or gelu_new`,
    );
  }
  return { gated, activation: name };
}

export function validateT5Config(config: T5Config): void {
  const positive: (keyof T5Config)[] = [
    'vocabSize',
    'dModel',
    'dKv',
    'dFf',
    'numLayers',
    'numDecoderLayers',
    'numHeads',
    'relativeAttentionNumBuckets',
    'relativeAttentionMaxDistance',
  ];
  for (const key of positive) {
    const v = config[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new Error(`T5 config ${key} must be a positive integer, got ${String(v)}`);
    }
  }
  if (!(config.dropoutRate >= 0 && config.dropoutRate < 1)) {
    throw new Error(`T5 config dropoutRate must be in [0, 1), got ${config.dropoutRate}`);
  }
  feedForwardKind(config);
}

type HFConfig = Record<string, unknown>;

function num(json: HFConfig, key: string, fallback?: number): number {
  const v = json[key];
  if (typeof v === 'number') return v;
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new Error(`config.json is missing "${key}" (a number); is this a T5 checkpoint?`);
  }
  throw new Error(`config.json "${key}" must be a number, got ${JSON.stringify(v)}`);
}

/** Reads a HuggingFace T5 `config.json` object; defaults follow transformers' T5Config. */
export function t5ConfigFromHF(json: HFConfig): T5Config {
  if (json['model_type'] !== undefined && json['model_type'] !== 't5') {
    throw new Error(`config.json model_type is "${String(json['model_type'])}", expected "t5"`);
  }
  const numLayers = num(json, 'num_layers', 6);
  const config: T5Config = {
    vocabSize: num(json, 'vocab_size', 32128),
    dModel: num(json, 'd_model', 512),
    dKv: num(json, 'd_kv', 64),
    dFf: num(json, 'd_ff', 2048),
    numLayers,
    numDecoderLayers: num(json, 'num_decoder_layers', numLayers),
    numHeads: num(json, 'num_heads', 8),
    relativeAttentionNumBuckets: num(json, 'relative_attention_num_buckets', 32),
    relativeAttentionMaxDistance: num(json, 'relative_attention_max_distance', 128),
    dropoutRate: num(json, 'dropout_rate', 0.1),
    layerNormEpsilon: num(json, 'layer_norm_epsilon', 1e-6),
    feedForwardProj:
      typeof json['feed_forward_proj'] === 'string' ? json['feed_forward_proj'] : 'relu',
    tieWordEmbeddings:
      typeof json['tie_word_embeddings'] === 'boolean' ? json['tie_word_embeddings'] : true,
    initializerFactor: num(json, 'initializer_factor', 1.0),
    padTokenId: num(json, 'pad_token_id', 0),
    eosTokenId: num(json, 'eos_token_id', 1),
    decoderStartTokenId: num(json, 'decoder_start_token_id', 0),
  };
  validateT5Config(config);
  return config;
}

export function t5ConfigToHF(config: T5Config): HFConfig {
  return {
    architectures: ['T5ForConditionalGeneration'],
    model_type: 't5',
    is_encoder_decoder: true,
    vocab_size: config.vocabSize,
    d_model: config.dModel,
    d_kv: config.dKv,
    d_ff: config.dFf,
    num_layers: config.numLayers,
    num_decoder_layers: config.numDecoderLayers,
    num_heads: config.numHeads,
    relative_attention_num_buckets: config.relativeAttentionNumBuckets,
    relative_attention_max_distance: config.relativeAttentionMaxDistance,
    dropout_rate: config.dropoutRate,
    layer_norm_epsilon: config.layerNormEpsilon,
    feed_forward_proj: config.feedForwardProj,
    tie_word_embeddings: config.tieWordEmbeddings,
    initializer_factor: config.initializerFactor,
    pad_token_id: config.padTokenId,
    eos_token_id: config.eosTokenId,
    decoder_start_token_id: config.decoderStartTokenId,
    use_cache: true,
    torch_dtype: 'float32',
  };
}
