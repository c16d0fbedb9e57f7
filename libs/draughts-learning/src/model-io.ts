/**
 * Saving and loading the scorer in the tfjs format: model.json (config + weightsManifest) and one
 * weights.bin of little-endian float32s, readable by tf.io.decodeWeights. `modelFromArtifacts`
 * takes the parsed JSON and bytes, so a browser can fetch them; the file helpers are for Node.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { paramShapes, type Params, type TransformerConfig } from './transformer';

export const MODEL_FORMAT = 'conveyor-draughts-transformer';

export interface ModelJson {
  readonly format: typeof MODEL_FORMAT;
  readonly config: TransformerConfig;
  /** Free-form provenance: training data, steps, losses. */
  readonly trainingInfo?: Record<string, unknown>;
  readonly weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

export interface LoadedModel {
  readonly config: TransformerConfig;
  readonly params: Params;
  readonly trainingInfo?: Record<string, unknown>;
}

export async function saveModel(
  dir: string,
  config: TransformerConfig,
  params: Params,
  trainingInfo?: Record<string, unknown>,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const named = paramShapes(config).map(([name]) => ({
    name,
    tensor: params.get(name) as tf.Tensor,
  }));
  const { data, specs } = await tf.io.encodeWeights(named);
  const json: ModelJson = {
    format: MODEL_FORMAT,
    config,
    trainingInfo,
    weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
  };
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json, null, 1) + '\n');
  writeFileSync(join(dir, 'weights.bin'), Buffer.from(data as ArrayBuffer));
}

export function modelFromArtifacts(json: ModelJson, weights: ArrayBuffer): LoadedModel {
  if (json.format !== MODEL_FORMAT)
    throw new Error(`model.json format is "${String(json.format)}", expected "${MODEL_FORMAT}"`);
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const tensors = tf.io.decodeWeights(weights, specs);
  const params: Params = new Map();
  for (const [name, shape] of paramShapes(json.config)) {
    const t = tensors[name];
    if (!t)
      throw new Error(`weights lack ${name}: model.json and weights.bin are from different models`);
    if (t.shape.join() !== shape.join())
      throw new Error(`weight ${name} has shape [${t.shape}] but the config needs [${shape}]`);
    params.set(name, tf.variable(t, false, `${name}_${Math.random().toString(36).slice(2, 8)}`));
    t.dispose();
  }
  return { config: json.config, params, trainingInfo: json.trainingInfo };
}

export function loadModel(dir: string): LoadedModel {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as ModelJson;
  const bin = readFileSync(join(dir, 'weights.bin'));
  return modelFromArtifacts(
    json,
    bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer,
  );
}

/** The committed model (trained on self-play logs), used by the checkers app's "hard" level. */
export const BUNDLED_MODEL_DIR = join(__dirname, '..', 'model');
