// HuggingFace-layout checkpoints: a directory with config.json and model.safetensors.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { t5ConfigFromHF, t5ConfigToHF } from './config';
import { T5Model } from './model';
import { TIED_EMBEDDING_ALIASES, t5ParameterSpecs } from './parameters';
import { readSafetensors, writeSafetensors } from './safetensors';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';

/** Writes config.json and model.safetensors (float32, HF parameter names) into `dir`, creating it. */
export async function saveT5(model: T5Model, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const tensors = [];
  for (const spec of t5ParameterSpecs(model.config)) {
    const v = model.param(spec.name);
    tensors.push({ name: spec.name, shape: spec.shape, data: (await v.data()) as Float32Array });
  }
  // transformers refuses safetensors files without format metadata.
  const bytes = writeSafetensors(tensors, { format: 'pt' });
  fs.writeFileSync(path.join(dir, WEIGHTS_FILE), bytes);
  fs.writeFileSync(
    path.join(dir, CONFIG_FILE),
    JSON.stringify(t5ConfigToHF(model.config), null, 2) + '\n',
  );
}

/** Loads a HF T5 checkpoint directory (config.json + model.safetensors); F16/BF16 weights become float32. */
export function loadT5(dir: string): T5Model {
  const configPath = path.join(dir, CONFIG_FILE);
  const weightsPath = path.join(dir, WEIGHTS_FILE);
  for (const p of [configPath, weightsPath]) {
    if (!fs.existsSync(p)) {
      throw new Error(
        `${p} not found: a T5 checkpoint directory needs ${CONFIG_FILE} and ${WEIGHTS_FILE} (convert pytorch_model.bin with transformers' save_pretrained(safe_serialization=True))`,
      );
    }
  }
  const config = t5ConfigFromHF(
    JSON.parse(fs.readFileSync(configPath, 'utf8')) as Record<string, unknown>,
  );
  const file = readSafetensors(fs.readFileSync(weightsPath), weightsPath);
  const specs = t5ParameterSpecs(config);
  const expected = new Set(specs.map((s) => s.name));
  const unexpected = [...file.tensors.keys()].filter(
    (n) =>
      !expected.has(n) &&
      !TIED_EMBEDDING_ALIASES.includes(n) &&
      !(config.tieWordEmbeddings && n === 'lm_head.weight'),
  );
  if (unexpected.length > 0) {
    throw new Error(
      `${weightsPath} has tensors this T5 config does not use: ${unexpected.slice(0, 5).join(', ')}`,
    );
  }
  const params = new Map<string, tf.Variable>();
  try {
    for (const spec of specs) {
      const t =
        file.tensors.get(spec.name) ??
        (spec.name === 'shared.weight'
          ? file.tensors.get(TIED_EMBEDDING_ALIASES[0] as string)
          : undefined);
      if (!t)
        throw new Error(
          `${weightsPath} lacks "${spec.name}" [${spec.shape.join(', ')}], which ${configPath} requires`,
        );
      if (t.shape.join(',') !== spec.shape.join(',')) {
        throw new Error(
          `${weightsPath}: "${spec.name}" has shape [${t.shape.join(', ')}] but ${configPath} implies [${spec.shape.join(', ')}]`,
        );
      }
      const value = tf.tensor(t.data, t.shape, 'float32');
      params.set(spec.name, tf.variable(value, true));
      value.dispose();
    }
  } catch (e) {
    for (const v of params.values()) v.dispose();
    throw e;
  }
  return new T5Model(config, params);
}
