// The parameter names and shapes of HF T5ForConditionalGeneration. Shapes are PyTorch's: linear
// weights are [out, in], which is why the model multiplies by the transpose.
import { feedForwardKind, type T5Config } from './config';

export interface ParameterSpec {
  name: string;
  shape: number[];
  /** Standard deviation of HF's `_init_weights` normal initialiser; 0 means "fill with initializerFactor". */
  initStd: number;
}

function attentionSpecs(prefix: string, config: T5Config, withBias: boolean): ParameterSpec[] {
  const f = config.initializerFactor;
  const inner = config.numHeads * config.dKv;
  const specs: ParameterSpec[] = [
    {
      name: `${prefix}.q.weight`,
      shape: [inner, config.dModel],
      initStd: f * (config.dModel * config.dKv) ** -0.5,
    },
    {
      name: `${prefix}.k.weight`,
      shape: [inner, config.dModel],
      initStd: f * config.dModel ** -0.5,
    },
    {
      name: `${prefix}.v.weight`,
      shape: [inner, config.dModel],
      initStd: f * config.dModel ** -0.5,
    },
    { name: `${prefix}.o.weight`, shape: [config.dModel, inner], initStd: f * inner ** -0.5 },
  ];
  if (withBias) {
    specs.push({
      name: `${prefix}.relative_attention_bias.weight`,
      shape: [config.relativeAttentionNumBuckets, config.numHeads],
      initStd: f * config.dModel ** -0.5,
    });
  }
  return specs;
}

function feedForwardSpecs(prefix: string, config: T5Config): ParameterSpec[] {
  const f = config.initializerFactor;
  const inStd = f * config.dModel ** -0.5;
  const wo = {
    name: `${prefix}.wo.weight`,
    shape: [config.dModel, config.dFf],
    initStd: f * config.dFf ** -0.5,
  };
  if (feedForwardKind(config).gated) {
    return [
      { name: `${prefix}.wi_0.weight`, shape: [config.dFf, config.dModel], initStd: inStd },
      { name: `${prefix}.wi_1.weight`, shape: [config.dFf, config.dModel], initStd: inStd },
      wo,
    ];
  }
  return [{ name: `${prefix}.wi.weight`, shape: [config.dFf, config.dModel], initStd: inStd }, wo];
}

const norm = (name: string, config: T5Config): ParameterSpec => ({
  name,
  shape: [config.dModel],
  initStd: 0,
});

/** Every parameter, in the order transformers' state_dict lists them (tied copies omitted, as save_pretrained does). */
export function t5ParameterSpecs(config: T5Config): ParameterSpec[] {
  const specs: ParameterSpec[] = [
    {
      name: 'shared.weight',
      shape: [config.vocabSize, config.dModel],
      initStd: config.initializerFactor,
    },
  ];
  for (let i = 0; i < config.numLayers; i++) {
    const p = `encoder.block.${i}.layer`;
    specs.push(...attentionSpecs(`${p}.0.SelfAttention`, config, i === 0));
    specs.push(norm(`${p}.0.layer_norm.weight`, config));
    specs.push(...feedForwardSpecs(`${p}.1.DenseReluDense`, config));
    specs.push(norm(`${p}.1.layer_norm.weight`, config));
  }
  specs.push(norm('encoder.final_layer_norm.weight', config));
  for (let i = 0; i < config.numDecoderLayers; i++) {
    const p = `decoder.block.${i}.layer`;
    specs.push(...attentionSpecs(`${p}.0.SelfAttention`, config, i === 0));
    specs.push(norm(`${p}.0.layer_norm.weight`, config));
    specs.push(...attentionSpecs(`${p}.1.EncDecAttention`, config, false));
    specs.push(norm(`${p}.1.layer_norm.weight`, config));
    specs.push(...feedForwardSpecs(`${p}.2.DenseReluDense`, config));
    specs.push(norm(`${p}.2.layer_norm.weight`, config));
  }
  specs.push(norm('decoder.final_layer_norm.weight', config));
  if (!config.tieWordEmbeddings) {
    specs.push({
      name: 'lm_head.weight',
      shape: [config.vocabSize, config.dModel],
      initStd: config.initializerFactor,
    });
  }
  return specs;
}

/** Names HF checkpoints may carry that alias `shared.weight`; loading ignores them. */
export const TIED_EMBEDDING_ALIASES = [
  'encoder.embed_tokens.weight',
  'decoder.embed_tokens.weight',
];

export function countParameters(config: T5Config): number {
  return t5ParameterSpecs(config).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}
