import { expect, expectStatus, type Check, type Workflows } from '../check';
import { describeRun } from '../orchestrator-api';
import { sameJson } from '../profiles';

const NO_KEY = 'the worker has no step that reports its idempotency key (no key queue)';

/**
 * The key to deduplicate side effects on reaches the handler: `<runId>:<step>` on every step,
 * including links the worker started itself (it must set it on the requests it builds), and
 * `<runId>:<step>:<itemIndex>` on fan-out items.
 */
export const idempotencyKey: Check = {
  name: 'idempotency-key',
  sections: '§2, §7',
  skip: (s) => (s.keyQueue ? undefined : NO_KEY),
  workflows: (s): Workflows => {
    const queue = s.keyQueue;
    if (!queue) return {};
    return {
      chain: {
        steps: {
          a: { queue, input: 'input' },
          b: { queue, needs: ['a'], input: 'input' },
          c: { queue, needs: ['b'], input: 'input' },
        },
        output: '{ "a": steps.a, "b": steps.b, "c": steps.c }',
      },
      fan: { steps: { items: { queue, forEach: 'input.items', input: 'item' } } },
    };
  },
  async run({ api, workflow }) {
    const chained = await api.complete(workflow('chain'), {});
    expectStatus(chained, 'succeeded', 'three linked steps report their keys');
    const expected = Object.fromEntries(
      ['a', 'b', 'c'].map((step) => [step, { idempotencyKey: `${chained.id}:${step}` }]),
    );
    expect(
      sameJson(chained.output, expected),
      `expected the keys ${JSON.stringify(expected)}, got ${JSON.stringify(chained.output)}`,
    );
    const fanned = await api.complete(workflow('fan'), { items: [10, 20, 30] });
    expectStatus(fanned, 'succeeded', 'three fan-out items report their keys');
    const items = fanned.steps.find((s) => s.step === 'items');
    const keys = [0, 1, 2].map((i) => ({ idempotencyKey: `${fanned.id}:items:${i}` }));
    expect(
      sameJson(items?.output, keys),
      `expected the item keys ${JSON.stringify(keys)}, got ${JSON.stringify(items?.output)} (${describeRun(fanned)})`,
    );
  },
};
