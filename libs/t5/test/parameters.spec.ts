import { T5_SMALL_CONFIG, defineT5Config } from '../src/config';
import { countParameters, t5ParameterSpecs } from '../src/parameters';

describe('T5 parameter names and shapes', () => {
  it('t5-small has the 60,506,624 parameters transformers reports, under HF names', () => {
    expect(countParameters(T5_SMALL_CONFIG)).toBe(60_506_624);
    const specs = new Map(t5ParameterSpecs(T5_SMALL_CONFIG).map((s) => [s.name, s.shape]));
    expect(specs.get('shared.weight')).toEqual([32128, 512]);
    expect(specs.get('encoder.block.0.layer.0.SelfAttention.q.weight')).toEqual([512, 512]);
    expect(
      specs.get('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight'),
    ).toEqual([32, 8]);
    expect(specs.has('encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight')).toBe(
      false,
    );
    expect(specs.get('encoder.block.5.layer.1.DenseReluDense.wi.weight')).toEqual([2048, 512]);
    expect(specs.get('encoder.block.5.layer.1.DenseReluDense.wo.weight')).toEqual([512, 2048]);
    expect(
      specs.get('decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight'),
    ).toEqual([32, 8]);
    expect(specs.get('decoder.block.3.layer.1.EncDecAttention.o.weight')).toEqual([512, 512]);
    expect(
      specs.has('decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight'),
    ).toBe(false);
    expect(specs.get('decoder.block.5.layer.2.layer_norm.weight')).toEqual([512]);
    expect(specs.get('decoder.final_layer_norm.weight')).toEqual([512]);
    expect(specs.has('lm_head.weight')).toBe(false);
    // shared + 6 encoder blocks x 8 (q k v o norm wi wo norm) + bias + final norm
    //        + 6 decoder blocks x 13 (q k v o norm, q k v o norm, wi wo norm) + bias + final norm
    expect(specs.size).toBe(1 + 48 + 1 + 1 + 78 + 1 + 1);
  });

  it('t5-v1_1-small (gated-gelu, untied) has 76,961,152 parameters including lm_head', () => {
    const v11 = defineT5Config({
      dFf: 1024,
      numHeads: 6,
      numLayers: 8,
      feedForwardProj: 'gated-gelu',
      tieWordEmbeddings: false,
    });
    expect(countParameters(v11)).toBe(76_961_152);
    const specs = new Map(t5ParameterSpecs(v11).map((s) => [s.name, s.shape]));
    expect(specs.get('encoder.block.7.layer.1.DenseReluDense.wi_0.weight')).toEqual([1024, 512]);
    expect(specs.get('encoder.block.7.layer.1.DenseReluDense.wi_1.weight')).toEqual([1024, 512]);
    expect(specs.get('encoder.block.0.layer.0.SelfAttention.q.weight')).toEqual([384, 512]);
    expect(specs.get('encoder.block.0.layer.0.SelfAttention.o.weight')).toEqual([512, 384]);
    expect(specs.get('lm_head.weight')).toEqual([32128, 512]);
    expect(specs.has('encoder.block.0.layer.1.DenseReluDense.wi.weight')).toBe(false);
  });

  it('lists a one-layer model in state_dict order, exactly', () => {
    const names = t5ParameterSpecs(defineT5Config({ numLayers: 1 })).map((s) => s.name);
    expect(names).toEqual([
      'shared.weight',
      'encoder.block.0.layer.0.SelfAttention.q.weight',
      'encoder.block.0.layer.0.SelfAttention.k.weight',
      'encoder.block.0.layer.0.SelfAttention.v.weight',
      'encoder.block.0.layer.0.SelfAttention.o.weight',
      'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight',
      'encoder.block.0.layer.0.layer_norm.weight',
      'encoder.block.0.layer.1.DenseReluDense.wi.weight',
      'encoder.block.0.layer.1.DenseReluDense.wo.weight',
      'encoder.block.0.layer.1.layer_norm.weight',
      'encoder.final_layer_norm.weight',
      'decoder.block.0.layer.0.SelfAttention.q.weight',
      'decoder.block.0.layer.0.SelfAttention.k.weight',
      'decoder.block.0.layer.0.SelfAttention.v.weight',
      'decoder.block.0.layer.0.SelfAttention.o.weight',
      'decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight',
      'decoder.block.0.layer.0.layer_norm.weight',
      'decoder.block.0.layer.1.EncDecAttention.q.weight',
      'decoder.block.0.layer.1.EncDecAttention.k.weight',
      'decoder.block.0.layer.1.EncDecAttention.v.weight',
      'decoder.block.0.layer.1.EncDecAttention.o.weight',
      'decoder.block.0.layer.1.layer_norm.weight',
      'decoder.block.0.layer.2.DenseReluDense.wi.weight',
      'decoder.block.0.layer.2.DenseReluDense.wo.weight',
      'decoder.block.0.layer.2.layer_norm.weight',
      'decoder.final_layer_norm.weight',
    ]);
  });

  it('uses HF _init_weights standard deviations', () => {
    const specs = new Map(t5ParameterSpecs(T5_SMALL_CONFIG).map((s) => [s.name, s.initStd]));
    expect(specs.get('shared.weight')).toBe(1);
    expect(specs.get('encoder.block.0.layer.0.SelfAttention.q.weight')).toBeCloseTo(
      (512 * 64) ** -0.5,
      12,
    );
    expect(specs.get('encoder.block.0.layer.0.SelfAttention.k.weight')).toBeCloseTo(
      512 ** -0.5,
      12,
    );
    expect(specs.get('encoder.block.0.layer.0.SelfAttention.o.weight')).toBeCloseTo(
      (8 * 64) ** -0.5,
      12,
    );
    expect(specs.get('encoder.block.0.layer.1.DenseReluDense.wo.weight')).toBeCloseTo(
      2048 ** -0.5,
      12,
    );
    expect(specs.get('encoder.final_layer_norm.weight')).toBe(0);
  });

  it('rejects unknown feed-forward kinds with a fix', () => {
    expect(() => defineT5Config({ feedForwardProj: 'gated-swish' })).toThrow(
      /relu, gelu or gelu_new/,
    );
    expect(() => defineT5Config({ numHeads: 0 })).toThrow(/numHeads must be a positive integer/);
  });
});
