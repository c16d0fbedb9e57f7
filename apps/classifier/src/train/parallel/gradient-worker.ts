// A data-parallel training replica: its own TensorFlow.js backend (wasm instance) and its own
// copy of the weights and AdamW state. It computes gradients on its share of each batch and
// applies the averaged gradient it is sent, so every replica makes the identical update.
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import {
  AdamW,
  collateSeq2Seq,
  createRng,
  disposeBatch,
  initBackend,
  t5ParameterSpecs,
  T5Model,
} from '@conveyor/t5';
import { applyGradients, computeGradients } from '../train-step';
import type { FromWorker, ToWorker } from './protocol';

const port = parentPort;
if (!port)
  throw new Error('gradient-worker.ts runs only as a worker thread (see parallel-engine.ts)');

let model: T5Model | undefined;
let optimizer: AdamW | undefined;
let settings = { maxGradNorm: 1, padTokenId: 0, labelSmoothing: 0 };

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

const ready = initBackend();

async function handle(message: ToWorker): Promise<void> {
  const backend = await ready;
  switch (message.kind) {
    case 'init': {
      const { config, weights, optimizer: state } = message.replica;
      const params = new Map<string, tf.Variable>();
      t5ParameterSpecs(config).forEach((spec, i) => {
        const t = tf.tensor(weights[i] as Float32Array, spec.shape, 'float32');
        params.set(spec.name, tf.variable(t, true));
        t.dispose();
      });
      model = new T5Model(config, params);
      optimizer = new AdamW({ weightDecay: message.weightDecay });
      optimizer.setState(state, params);
      settings = {
        maxGradNorm: message.maxGradNorm,
        padTokenId: message.padTokenId,
        labelSmoothing: message.labelSmoothing,
      };
      send({ kind: 'ready', backend: backend.name });
      return;
    }
    case 'gradients': {
      if (!model) throw new Error('gradients asked before init');
      const batch = collateSeq2Seq(message.rows, {
        padTokenId: settings.padTokenId,
        decoderStartTokenId: model.config.decoderStartTokenId,
      });
      const rng = createRng(message.dropoutSeed);
      const { loss, tokens, grads } = computeGradients(
        model,
        batch,
        () => rng.seed(),
        settings.labelSmoothing,
      );
      disposeBatch(batch);
      const arrays = t5ParameterSpecs(model.config).map((spec) => {
        const g = grads.get(spec.name);
        return g
          ? (g.dataSync() as Float32Array)
          : new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
      });
      tf.dispose([...grads.values()]);
      send(
        { kind: 'gradients', loss, tokens, grads: arrays },
        arrays.map((a) => a.buffer as ArrayBuffer),
      );
      return;
    }
    case 'apply': {
      if (!model || !optimizer) throw new Error('apply asked before init');
      const grads = new Map<string, tf.Tensor>();
      t5ParameterSpecs(model.config).forEach((spec, i) =>
        grads.set(spec.name, tf.tensor(message.grads[i] as Float32Array, spec.shape, 'float32')),
      );
      applyGradients(model, optimizer, grads, {
        learningRate: message.learningRate,
        maxGradNorm: settings.maxGradNorm,
      });
      tf.dispose([...grads.values()]);
      send({ kind: 'applied' });
      return;
    }
    case 'state': {
      if (!model || !optimizer) throw new Error('state asked before init');
      const weights = model.variables().map((v) => v.dataSync() as Float32Array);
      send({ kind: 'state', weights, optimizer: await optimizer.getState() });
      return;
    }
  }
}

// One message at a time, in order: the engine waits for each answer before the next request.
let queue = Promise.resolve();
port.on('message', (message: ToWorker) => {
  queue = queue.then(() =>
    handle(message).catch((e: unknown) =>
      send({ kind: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
    ),
  );
});
