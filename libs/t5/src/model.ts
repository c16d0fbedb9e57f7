// The T5 encoder-decoder forward pass, a pure function of named parameters (HF names), so
// checkpoints map one-to-one onto it and gradients are taken with tf.variableGrads.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers kernels' gradients only on request; training needs them.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { feedForwardKind, type T5Config, type FeedForwardKind } from './config';
import { t5ParameterSpecs } from './parameters';
import { relativePositionBuckets } from './relative-position';
import {
  activate,
  attention,
  causalBias,
  dropout,
  linear,
  paddingBias,
  rmsNorm,
  TransposedWeight,
  type AttentionWeights,
  type LinearWeight,
  type DropoutContext,
} from './layers';

export interface ForwardOptions {
  /** Enables dropout (config.dropoutRate). Default false. */
  training?: boolean;
  /** Seed stream for dropout masks; required when training with dropout > 0. */
  nextDropoutSeed?: () => number;
  /**
   * Inference only: reuse what depends on the weights alone across calls instead of computing it
   * again — the position biases of each length (a 512-token input's is 512 × 512 per head) and
   * the linear layers' weights transposed for the matrix product. Reused tensors are constants,
   * so no gradient reaches the weights: not allowed with `training`, and never to be set under
   * tf.grad. Each is kept until its weight's value changes (Variable.assign gives it new data)
   * or the model is disposed.
   */
  inference?: boolean;
}

/** Most position biases a model keeps for reuse (a 512-token encoder bias with 8 heads is 8 MB). */
const POSITION_BIAS_CACHE_SIZE = 8;

export interface Seq2SeqInputs {
  /** int32 [B, S] encoder token ids. */
  inputIds: tf.Tensor2D;
  /** [B, S] 1 for real tokens, 0 for padding. */
  attentionMask: tf.Tensor2D;
  /** int32 [B, T] decoder inputs (targets shifted right, starting with decoderStartTokenId). */
  decoderInputIds: tf.Tensor2D;
  /** Optional [B, T] mask for decoder padding; HF T5 defaults to attending to every earlier position. */
  decoderAttentionMask?: tf.Tensor2D;
}

export class T5Model {
  readonly config: T5Config;
  readonly params: Map<string, tf.Variable>;
  private readonly ff: FeedForwardKind;
  /** Reusable position biases by stack and lengths, with the table data they were read from. */
  private readonly biasCache = new Map<string, { table: tf.DataId; bias: tf.Tensor4D }>();
  /** Linear weights transposed to [in, out] for inference, with the data they were read from. */
  private readonly transposedCache = new Map<
    string,
    { data: tf.DataId; weight: TransposedWeight }
  >();

  /** Takes ownership of `params`; every name from t5ParameterSpecs(config) must be present with its shape. */
  constructor(config: T5Config, params: Map<string, tf.Variable>) {
    for (const spec of t5ParameterSpecs(config)) {
      const p = params.get(spec.name);
      if (!p)
        throw new Error(
          `T5 parameter "${spec.name}" is missing; expected shape [${spec.shape.join(', ')}]`,
        );
      if (p.shape.join(',') !== spec.shape.join(',')) {
        throw new Error(
          `T5 parameter "${spec.name}" has shape [${p.shape.join(', ')}] but the config needs [${spec.shape.join(', ')}]`,
        );
      }
    }
    this.config = config;
    this.params = params;
    this.ff = feedForwardKind(config);
  }

  param(name: string): tf.Variable {
    const p = this.params.get(name);
    if (!p) throw new Error(`T5 parameter "${name}" does not exist in this model`);
    return p;
  }

  /** Trainable variables in the canonical (HF state_dict) order. */
  variables(): tf.Variable[] {
    return t5ParameterSpecs(this.config).map((s) => this.param(s.name));
  }

  numParameters(): number {
    return this.variables().reduce((n, v) => n + v.size, 0);
  }

  private dropContext(opts: ForwardOptions): DropoutContext {
    const training = opts.training ?? false;
    if (training && this.config.dropoutRate > 0 && !opts.nextDropoutSeed) {
      throw new Error(
        'training with dropout needs ForwardOptions.nextDropoutSeed (a seeded stream) to be reproducible',
      );
    }
    if (training && opts.inference) {
      throw new Error(
        'the inference option cannot be used in training: reused tensors are constants that no gradient reaches',
      );
    }
    return { training, rate: this.config.dropoutRate, nextSeed: opts.nextDropoutSeed ?? (() => 0) };
  }

  /** A linear layer's weight as inference or training needs it (see ForwardOptions.inference). */
  private linearWeight(name: string, inference: boolean | undefined): LinearWeight {
    const weight = this.param(name);
    if (!inference) return weight;
    const hit = this.transposedCache.get(name);
    if (hit && hit.data === weight.dataId) return hit.weight;
    hit?.weight.inOut.dispose();
    const transposed = new TransposedWeight(tf.keep(tf.transpose(weight as tf.Tensor2D)));
    this.transposedCache.set(name, { data: weight.dataId, weight: transposed });
    return transposed;
  }

  private attentionWeights(prefix: string, inference: boolean | undefined): AttentionWeights {
    return {
      q: this.linearWeight(`${prefix}.q.weight`, inference),
      k: this.linearWeight(`${prefix}.k.weight`, inference),
      v: this.linearWeight(`${prefix}.v.weight`, inference),
      o: this.linearWeight(`${prefix}.o.weight`, inference),
    };
  }

  /** [1, H, Tq, Tk] learned bias from the first block's table, shared by every block of that stack. */
  positionBias(stack: 'encoder' | 'decoder', queryLength: number, keyLength: number): tf.Tensor4D {
    return this.stackPositionBias(stack, queryLength, keyLength, false);
  }

  /** The bias for a forward pass: a new tensor, or with `reuse` the model's kept one (not the caller's to dispose). */
  private stackPositionBias(
    stack: 'encoder' | 'decoder',
    queryLength: number,
    keyLength: number,
    reuse: boolean | undefined,
  ): tf.Tensor4D {
    const c = this.config;
    const table = this.param(
      `${stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight`,
    );
    const buckets = () =>
      relativePositionBuckets(
        queryLength,
        keyLength,
        stack === 'encoder',
        c.relativeAttentionNumBuckets,
        c.relativeAttentionMaxDistance,
      );
    if (reuse) return this.reusedPositionBias(stack, table, buckets, queryLength, keyLength);
    return tf.tidy(() => {
      const perPair = tf.gather(table, tf.tensor1d(buckets(), 'int32')); // [Tq*Tk, H]
      return tf.reshape(tf.transpose(perPair), [1, c.numHeads, queryLength, keyLength]);
    });
  }

  /**
   * The same values as the gathered bias, read from the table's few numbers and laid out in
   * JavaScript (the wasm gather of Tq·Tk rows cost more than the rest of a 512-token encoder
   * layer), kept for the next call with these lengths.
   */
  private reusedPositionBias(
    stack: string,
    table: tf.Variable,
    bucketsOf: () => Int32Array,
    queryLength: number,
    keyLength: number,
  ): tf.Tensor4D {
    const key = `${stack}:${queryLength}:${keyLength}`;
    const hit = this.biasCache.get(key);
    if (hit && hit.table === table.dataId) {
      // Most recently used last, so eviction drops the oldest.
      this.biasCache.delete(key);
      this.biasCache.set(key, hit);
      return hit.bias;
    }
    if (hit) {
      this.biasCache.delete(key);
      hit.bias.dispose();
    }
    const heads = this.config.numHeads;
    const values = table.dataSync() as Float32Array; // [buckets, H]
    const buckets = bucketsOf();
    const pairs = buckets.length;
    const out = new Float32Array(heads * pairs);
    for (let h = 0; h < heads; h++) {
      const base = h * pairs;
      for (let i = 0; i < pairs; i++)
        out[base + i] = values[(buckets[i] as number) * heads + h] as number;
    }
    const bias = tf.keep(tf.tensor4d(out, [1, heads, queryLength, keyLength]));
    this.biasCache.set(key, { table: table.dataId, bias });
    while (this.biasCache.size > POSITION_BIAS_CACHE_SIZE) {
      const [oldestKey, oldest] = this.biasCache.entries().next().value as [
        string,
        { bias: tf.Tensor4D },
      ];
      this.biasCache.delete(oldestKey);
      oldest.bias.dispose();
    }
    return bias;
  }

  private feedForward(
    prefix: string,
    x: tf.Tensor3D,
    drop: DropoutContext,
    inference: boolean | undefined,
  ): tf.Tensor3D {
    const w = (name: string) => this.linearWeight(`${prefix}.${name}.weight`, inference);
    let h: tf.Tensor3D;
    if (this.ff.gated) {
      const gate = activate(linear(x, w('wi_0')), this.ff.activation);
      h = tf.mul(gate, linear(x, w('wi_1')));
    } else {
      h = activate(linear(x, w('wi')), this.ff.activation);
    }
    return linear(dropout(h, drop), w('wo'));
  }

  private embed(ids: tf.Tensor2D): tf.Tensor3D {
    const [b, t] = ids.shape;
    const flat = tf.gather(this.param('shared.weight'), tf.reshape(tf.cast(ids, 'int32'), [b * t]));
    return tf.reshape(flat, [b, t, this.config.dModel]);
  }

  /** Encoder hidden states [B, S, dModel] (after the final norm). */
  encode(
    inputIds: tf.Tensor2D,
    attentionMask: tf.Tensor2D,
    opts: ForwardOptions = {},
  ): tf.Tensor3D {
    const c = this.config;
    const drop = this.dropContext(opts);
    return tf.tidy(() => {
      const s = inputIds.shape[1];
      const bias = tf.add(
        this.stackPositionBias('encoder', s, s, opts.inference),
        paddingBias(attentionMask),
      );
      let x = dropout(this.embed(inputIds), drop);
      for (let i = 0; i < c.numLayers; i++) {
        const p = `encoder.block.${i}.layer`;
        const n0 = rmsNorm(x, this.param(`${p}.0.layer_norm.weight`), c.layerNormEpsilon);
        const a = attention(
          n0,
          n0,
          this.attentionWeights(`${p}.0.SelfAttention`, opts.inference),
          bias,
          c.numHeads,
          drop,
        );
        x = tf.add(x, dropout(a, drop));
        const n1 = rmsNorm(x, this.param(`${p}.1.layer_norm.weight`), c.layerNormEpsilon);
        x = tf.add(
          x,
          dropout(this.feedForward(`${p}.1.DenseReluDense`, n1, drop, opts.inference), drop),
        );
      }
      return dropout(
        rmsNorm(x, this.param('encoder.final_layer_norm.weight'), c.layerNormEpsilon),
        drop,
      );
    });
  }

  /**
   * Decoder hidden states [B, T, dModel] (after the final norm, before the LM head). The encoder
   * side may hold fewer rows than the decoder, B / G: then each encoder row serves G consecutive
   * decoder rows (several target sequences scored against one input), and cross-attention runs
   * once per input with those rows' queries side by side instead of on G copies of its states.
   */
  decodeHidden(
    decoderInputIds: tf.Tensor2D,
    encoderHidden: tf.Tensor3D,
    encoderAttentionMask: tf.Tensor2D,
    opts: ForwardOptions = {},
    decoderAttentionMask?: tf.Tensor2D,
  ): tf.Tensor3D {
    const c = this.config;
    const drop = this.dropContext(opts);
    const [rows, t] = decoderInputIds.shape;
    const inputs = encoderHidden.shape[0];
    if (rows % inputs !== 0 || encoderAttentionMask.shape[0] !== inputs) {
      throw new Error(
        `decoder rows (${rows}) must be a multiple of the encoder rows (${inputs}), and the encoder mask must have ${inputs} rows (has ${encoderAttentionMask.shape[0]})`,
      );
    }
    const group = rows / inputs;
    return tf.tidy(() => {
      let selfBias: tf.Tensor = tf.add(
        this.stackPositionBias('decoder', t, t, opts.inference),
        causalBias(t),
      );
      if (decoderAttentionMask) selfBias = tf.add(selfBias, paddingBias(decoderAttentionMask));
      const crossBias = paddingBias(encoderAttentionMask);
      let x = dropout(this.embed(decoderInputIds), drop);
      for (let i = 0; i < c.numDecoderLayers; i++) {
        const p = `decoder.block.${i}.layer`;
        const n0 = rmsNorm(x, this.param(`${p}.0.layer_norm.weight`), c.layerNormEpsilon);
        const a = attention(
          n0,
          n0,
          this.attentionWeights(`${p}.0.SelfAttention`, opts.inference),
          selfBias,
          c.numHeads,
          drop,
        );
        x = tf.add(x, dropout(a, drop));
        const n1 = rmsNorm(x, this.param(`${p}.1.layer_norm.weight`), c.layerNormEpsilon);
        // Cross-attention treats every query position alone, so a group's rows can share one.
        const queries: tf.Tensor3D =
          group === 1 ? n1 : tf.reshape(n1, [inputs, group * t, c.dModel]);
        const shared = attention(
          queries,
          encoderHidden,
          this.attentionWeights(`${p}.1.EncDecAttention`, opts.inference),
          crossBias,
          c.numHeads,
          drop,
        );
        const ca: tf.Tensor3D = group === 1 ? shared : tf.reshape(shared, [rows, t, c.dModel]);
        x = tf.add(x, dropout(ca, drop));
        const n2 = rmsNorm(x, this.param(`${p}.2.layer_norm.weight`), c.layerNormEpsilon);
        x = tf.add(
          x,
          dropout(this.feedForward(`${p}.2.DenseReluDense`, n2, drop, opts.inference), drop),
        );
      }
      return dropout(
        rmsNorm(x, this.param('decoder.final_layer_norm.weight'), c.layerNormEpsilon),
        drop,
      );
    });
  }

  /** Vocabulary logits [B, T, vocabSize] from decoder hidden states. */
  lmHead(hidden: tf.Tensor3D, opts: ForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => {
      if (this.config.tieWordEmbeddings) {
        // v1.0 ties the output to the input embedding and rescales, as in Mesh TensorFlow.
        return linear(
          tf.mul(hidden, this.config.dModel ** -0.5),
          this.linearWeight('shared.weight', opts.inference),
        );
      }
      return linear(hidden, this.linearWeight('lm_head.weight', opts.inference));
    });
  }

  /** Decoder logits [B, T, vocabSize]. */
  decode(
    decoderInputIds: tf.Tensor2D,
    encoderHidden: tf.Tensor3D,
    encoderAttentionMask: tf.Tensor2D,
    opts: ForwardOptions = {},
    decoderAttentionMask?: tf.Tensor2D,
  ): tf.Tensor3D {
    return tf.tidy(() =>
      this.lmHead(
        this.decodeHidden(
          decoderInputIds,
          encoderHidden,
          encoderAttentionMask,
          opts,
          decoderAttentionMask,
        ),
        opts,
      ),
    );
  }

  /** Full teacher-forced forward pass: logits [B, T, vocabSize]. */
  forward(inputs: Seq2SeqInputs, opts: ForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const enc = this.encode(inputs.inputIds, inputs.attentionMask, opts);
      return this.decode(
        inputs.decoderInputIds,
        enc,
        inputs.attentionMask,
        opts,
        inputs.decoderAttentionMask,
      );
    });
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
    for (const { bias } of this.biasCache.values()) bias.dispose();
    this.biasCache.clear();
    for (const { weight } of this.transposedCache.values()) weight.inOut.dispose();
    this.transposedCache.clear();
  }
}
