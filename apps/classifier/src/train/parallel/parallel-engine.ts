import path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { createRng, type AdamW, type T5Model } from '@conveyor/t5';
import { WORKSPACE_ROOT } from '../../paths';
import type { StepEngine } from '../step-engine';
import type { FromWorker, ToWorker } from './protocol';

const WORKER_SCRIPT = path.join(__dirname, 'gradient-worker.ts');

/** A worker thread with one outstanding request at a time. */
class ReplicaThread {
  private pending: { resolve: (m: FromWorker) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(private readonly worker: Worker) {
    worker.on('message', (message: FromWorker) => {
      const pending = this.pending;
      this.pending = undefined;
      if (message.kind === 'error')
        pending?.reject(new Error(`training thread: ${message.message}`));
      else pending?.resolve(message);
    });
    const fail = (e: Error) => {
      this.failure = e;
      this.pending?.reject(e);
      this.pending = undefined;
    };
    worker.on('error', (e) => fail(new Error(`training thread crashed: ${e.message}`)));
    worker.on('exit', (code) => fail(new Error(`training thread exited (code ${code})`)));
  }

  request<K extends FromWorker['kind']>(
    message: ToWorker,
    expect: K,
    transfer: ArrayBuffer[] = [],
  ): Promise<Extract<FromWorker, { kind: K }>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = {
        resolve: (m) =>
          m.kind === expect
            ? resolve(m as Extract<FromWorker, { kind: K }>)
            : reject(new Error(`training thread answered ${m.kind}, expected ${expect}`)),
        reject,
      };
      this.worker.postMessage(message, transfer);
    });
  }

  async terminate(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

function startThread(): ReplicaThread {
  // Node 20 workers ignore the parent's tsx loader: the TypeScript script is required through
  // tsx's CommonJS hook, with the workspace tsconfig for the @conveyor/* aliases.
  const boot = `require('tsx/cjs/api').register(); require(${JSON.stringify(WORKER_SCRIPT)});`;
  return new ReplicaThread(
    new Worker(boot, {
      eval: true,
      env: {
        ...process.env,
        TSX_TSCONFIG_PATH:
          process.env['TSX_TSCONFIG_PATH'] ?? path.join(WORKSPACE_ROOT, 'tsconfig.base.json'),
      },
    }),
  );
}

/**
 * Data-parallel training on two worker threads (tfjs-wasm has no threads under Node, so one
 * thread is one core). Each step, each thread computes the gradient of its half of the batch;
 * the halves' gradients are averaged weighted by their label-token counts — exactly the gradient
 * of the whole batch's mean token loss — and both threads apply that same average with their own,
 * identical AdamW state, so the replicas stay bit-identical to each other. Compared with one
 * thread on the whole batch, results agree to float32 rounding (the sums run in another order);
 * dropout masks are drawn per half, from streams named by the step and the half, so with dropout
 * on a 2-thread run is as reproducible as a 1-thread one but not the same run.
 */
export async function parallelEngine(
  model: T5Model,
  optimizer: AdamW,
  options: {
    maxGradNorm: number;
    weightDecay: number;
    padTokenId: number;
    labelSmoothing?: number;
  },
): Promise<StepEngine & { replicasAgree(): Promise<boolean> }> {
  const threads = [startThread(), startThread()];
  try {
    const replica = {
      config: model.config,
      weights: model.variables().map((v) => Float32Array.from(v.dataSync() as Float32Array)),
      optimizer: await optimizer.getState(),
    };
    await Promise.all(
      threads.map((t) =>
        t.request(
          {
            kind: 'init',
            replica,
            weightDecay: options.weightDecay,
            maxGradNorm: options.maxGradNorm,
            padTokenId: options.padTokenId,
            labelSmoothing: options.labelSmoothing ?? 0,
          },
          'ready',
        ),
      ),
    );
  } catch (e) {
    await Promise.all(threads.map((t) => t.terminate()));
    throw e;
  }
  const [first] = threads as [ReplicaThread, ReplicaThread];
  let stale = false;

  return {
    threads: 2,
    async step(input) {
      const half = Math.ceil(input.rows.length / 2);
      const shards = [input.rows.slice(0, half), input.rows.slice(half)];
      const results = await Promise.all(
        shards.map((rows, k) =>
          rows.length === 0
            ? Promise.resolve(undefined)
            : (threads[k] as ReplicaThread).request(
                {
                  kind: 'gradients',
                  rows: [...rows],
                  dropoutSeed: createRng(`${input.stepKey}:shard:${k}`).seed(),
                },
                'gradients',
              ),
        ),
      );
      const parts = results.filter((r) => r !== undefined);
      const tokens = parts.reduce((n, r) => n + r.tokens, 0);
      const count = (parts[0] as (typeof parts)[number]).grads.length;
      const averaged: Float32Array[] = [];
      for (let p = 0; p < count; p++) {
        const out = new Float32Array((parts[0] as (typeof parts)[number]).grads[p]?.length ?? 0);
        for (const part of parts) {
          const w = part.tokens / tokens;
          const g = part.grads[p] as Float32Array;
          for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + w * (g[i] as number);
        }
        averaged.push(out);
      }
      const loss = parts.reduce((s, r) => s + (r.loss * r.tokens) / tokens, 0);
      await Promise.all(
        threads.map((t) =>
          t.request(
            { kind: 'apply', grads: averaged, learningRate: input.learningRate },
            'applied',
          ),
        ),
      );
      stale = true;
      return { loss };
    },
    async sync() {
      if (!stale) return;
      const state = await first.request({ kind: 'state' }, 'state');
      model.variables().forEach((v, i) => {
        const t = tf.tensor(state.weights[i] as Float32Array, v.shape, 'float32');
        v.assign(t);
        t.dispose();
      });
      optimizer.setState(state.optimizer, model.params);
      stale = false;
    },
    async replicasAgree() {
      const [a, b] = await Promise.all(threads.map((t) => t.request({ kind: 'state' }, 'state')));
      return (a?.weights ?? []).every(
        (w, i) =>
          Buffer.compare(
            Buffer.from(w.buffer, w.byteOffset, w.byteLength),
            Buffer.from(
              (b?.weights[i] as Float32Array).buffer,
              (b?.weights[i] as Float32Array).byteOffset,
              (b?.weights[i] as Float32Array).byteLength,
            ),
          ) === 0,
      );
    },
    async dispose() {
      await Promise.all(threads.map((t) => t.terminate()));
    },
  };
}
