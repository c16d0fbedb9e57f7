import * as tf from '@tensorflow/tfjs-core';
import { AdamW, deserializeAdamWState, serializeAdamWState } from '../src/optimizer';
import { must, useBackend } from './helpers';

beforeAll(() => useBackend('cpu'));

const grads = (step: number) =>
  new Map<string, tf.Tensor>([
    [
      'w',
      tf.tensor([
        [0.1 * step, -0.2],
        [0.3, 0.05 * step],
      ]),
    ],
    ['layer_norm.weight', tf.tensor([0.5, -0.5 * step])],
  ]);
const freshParams = () =>
  new Map<string, tf.Variable>([
    [
      'w',
      tf.variable(
        tf.tensor([
          [1, 2],
          [3, 4],
        ]),
      ),
    ],
    ['layer_norm.weight', tf.variable(tf.tensor([1, 1]))],
  ]);

function steps(optimizer: AdamW, params: Map<string, tf.Variable>, from: number, to: number) {
  for (let s = from; s < to; s++) {
    const g = grads(s);
    optimizer.apply(params, g, 0.01);
    tf.dispose([...g.values()]);
  }
}

describe('AdamW state', () => {
  it('round-trips through safetensors so 2 + 3 steps equal 5 steps exactly', async () => {
    const straightParams = freshParams();
    const straight = new AdamW({ weightDecay: 0.1 });
    steps(straight, straightParams, 0, 5);

    const params = freshParams();
    const first = new AdamW({ weightDecay: 0.1 });
    steps(first, params, 0, 2);
    const bytes = serializeAdamWState(await first.getState());
    first.dispose();
    const second = new AdamW({ weightDecay: 0.1 });
    second.setState(deserializeAdamWState(bytes, 'state'), params);
    expect(second.iterations).toBe(2);
    steps(second, params, 2, 5);
    for (const name of ['w', 'layer_norm.weight']) {
      expect(Array.from(must(params.get(name)).dataSync())).toEqual(
        Array.from(must(straightParams.get(name)).dataSync()),
      );
    }
    // Without the moments, the same 3 steps land elsewhere: the state is what makes it exact.
    const restarted = freshParams();
    const a = new AdamW({ weightDecay: 0.1 });
    steps(a, restarted, 0, 2);
    a.dispose();
    const b = new AdamW({ weightDecay: 0.1 });
    steps(b, restarted, 2, 5);
    expect(Array.from(must(restarted.get('w')).dataSync())).not.toEqual(
      Array.from(must(straightParams.get('w')).dataSync()),
    );
    for (const o of [straight, second, b]) o.dispose();
    tf.dispose([...straightParams.values(), ...params.values(), ...restarted.values()]);
  });

  it('refuses state for other parameters or shapes, and files that are not AdamW state', async () => {
    const params = freshParams();
    const o = new AdamW();
    steps(o, params, 0, 1);
    const state = await o.getState();
    expect(() => new AdamW().setState(state, new Map([['w', must(params.get('w'))]]))).toThrow(
      /optimizer state for unknown parameter "layer_norm.weight"/,
    );
    const other = new Map([...params, ['w', tf.variable(tf.zeros([3, 2]))]]);
    expect(() => new AdamW().setState(state, other)).toThrow(
      /has shape \[2, 2\], the parameter \[3, 2\]/,
    );
    expect(() => deserializeAdamWState(new Uint8Array(16), 'x.safetensors')).toThrow(
      /x\.safetensors/,
    );
    o.dispose();
    tf.dispose([...params.values(), ...other.values()]);
  });
});
