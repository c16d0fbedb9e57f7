import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadT5, saveT5 } from '../src/checkpoint';
import { createT5 } from '../src/create';
import { readSafetensors, writeSafetensors } from '../src/safetensors';
import { t5ParameterSpecs } from '../src/parameters';
import { TINY, useBackend, must } from './helpers';

beforeAll(() => useBackend('cpu'));

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 't5-ckpt-'));

describe('HF checkpoints', () => {
  it('save → load is bit-exact for every parameter and writes HF config keys', async () => {
    const dir = tmp();
    const model = createT5(
      { ...TINY, feedForwardProj: 'gated-gelu', tieWordEmbeddings: false },
      { seed: 5 },
    );
    await saveT5(model, dir);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 't5',
      d_model: 16,
      d_kv: 4,
      d_ff: 32,
      num_layers: 2,
      num_decoder_layers: 2,
      num_heads: 4,
      feed_forward_proj: 'gated-gelu',
      tie_word_embeddings: false,
      relative_attention_num_buckets: 8,
    });
    const file = readSafetensors(fs.readFileSync(path.join(dir, 'model.safetensors')));
    expect([...file.tensors.keys()]).toEqual(t5ParameterSpecs(model.config).map((s) => s.name));
    expect(file.metadata).toEqual({ format: 'pt' });

    const loaded = loadT5(dir);
    expect(loaded.config).toEqual(model.config);
    for (const [name, v] of model.params) {
      const a = new Uint32Array((v.dataSync() as Float32Array).slice().buffer);
      const b = new Uint32Array((loaded.param(name).dataSync() as Float32Array).slice().buffer);
      expect(b).toEqual(a);
    }
    model.dispose();
    loaded.dispose();
  });

  it('accepts the tied embedding aliases HF files may carry and ignores lm_head when tied', async () => {
    const dir = tmp();
    const model = createT5(TINY, { seed: 2 });
    await saveT5(model, dir);
    const file = readSafetensors(fs.readFileSync(path.join(dir, 'model.safetensors')));
    const shared = must(file.tensors.get('shared.weight'));
    const tensors = [...file.tensors.entries()].map(([name, t]) => ({
      name,
      shape: t.shape,
      data: t.data,
    }));
    for (const alias of [
      'encoder.embed_tokens.weight',
      'decoder.embed_tokens.weight',
      'lm_head.weight',
    ]) {
      tensors.push({ name: alias, shape: shared.shape, data: shared.data });
    }
    fs.writeFileSync(
      path.join(dir, 'model.safetensors'),
      writeSafetensors(tensors, { format: 'pt' }),
    );
    const loaded = loadT5(dir);
    expect(loaded.numParameters()).toBe(model.numParameters());
    model.dispose();
    loaded.dispose();
  });

  it('says what is wrong with incomplete or mismatched checkpoints', async () => {
    expect(() => loadT5(tmp())).toThrow(
      /config.json not found: a T5 checkpoint directory needs config.json and model.safetensors/,
    );
    const dir = tmp();
    const model = createT5(TINY, { seed: 2 });
    await saveT5(model, dir);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, d_ff: 64 }));
    const before = tf.memory().numTensors;
    expect(() => loadT5(dir)).toThrow(
      /"encoder.block.0.layer.1.DenseReluDense.wi.weight" has shape \[32, 16\] but .*config.json implies \[64, 16\]/,
    );
    expect(tf.memory().numTensors).toBe(before); // partially loaded weights are freed
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({ ...config, model_type: 'bart' }),
    );
    expect(() => loadT5(dir)).toThrow(/model_type is "bart", expected "t5"/);
    model.dispose();
  });
});
