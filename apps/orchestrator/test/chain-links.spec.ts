import jsonata from 'jsonata';
import { compileExpression } from '../src/definitions/expressions';
import { loadWorkflowSources } from '../src/definitions/loader';
import { chainAfter } from '../src/engine/chain';

function definition(yaml: string) {
  const { definitions, problems } = loadWorkflowSources([
    { file: 'w.yaml', text: yaml },
    { file: 'w2.yaml', text: 'name: w2\nversion: 1\nsteps:\n  x: { queue: qx }\n' },
  ]);
  expect(problems).toEqual([]);
  const def = definitions.find((d) => d.name === 'w');
  if (!def) throw new Error('no definition');
  return def;
}

const runInput = (value: unknown) => () => ({ json: JSON.stringify(value), value });

describe('bare references', () => {
  const values: unknown[] = [5, [5], [[1, 2], [3]], [], { a: [1, { b: 2 }] }, null, 'x', true];

  it('are recognised only when nothing but `steps.X` or `input`', () => {
    expect(compileExpression('steps.a').reference).toEqual({ kind: 'step', step: 'a' });
    expect(compileExpression('steps.`a-b`').reference).toEqual({ kind: 'step', step: 'a-b' });
    expect(compileExpression('input').reference).toEqual({ kind: 'input' });
    for (const source of [
      'steps.a.b',
      'steps.a[0]',
      'steps.a[]',
      '$.steps.a',
      '(steps.a)',
      'steps',
      'input.x',
      '{ "x": steps.a }',
      'item',
    ])
      expect([source, compileExpression(source).reference]).toEqual([source, undefined]);
  });

  it('evaluate exactly as JSONata does', async () => {
    for (const value of values) {
      const context = {
        input: value,
        steps: { a: value },
        run: { id: 'r', workflow: 'w', version: 1 },
      };
      for (const source of ['steps.a', 'input', 'steps.missing', 'steps.constructor']) {
        const expected = await jsonata(source).evaluate(context);
        const normalised = expected === undefined ? null : JSON.parse(JSON.stringify(expected));
        expect([source, value, await compileExpression(source).evaluate(context)]).toEqual([
          source,
          value,
          normalised,
        ]);
      }
    }
  });
});

describe('chainAfter', () => {
  const yaml = `
name: w
version: 1
steps:
  a: { queue: qa, timeout: 5s }
  b: { queue: qb, needs: [a], input: 'steps.a' }
  c: { queue: qc, needs: [b] }
  d: { queue: qd, needs: [c], input: 'input' }
  e: { queue: qe, needs: [d], input: '{ "x": steps.d }' }
  f: { queue: qf, needs: [e], input: 'steps.e' }
  g: { queue: qg, needs: [f], when: 'steps.f' }
  h: { queue: qh, needs: [g, f], input: 'steps.g' }
  i: { queue: qi, needs: [h], forEach: 'steps.h' }
  j: { queue: qj, needs: [i], input: 'steps.i' }
  k: { workflow: w2, needs: [j], input: 'steps.j' }
`;

  it('lists the following steps while each is determined before its predecessor runs', () => {
    const def = definition(yaml);
    expect(chainAfter(def, 'a', 16, runInput({ n: 1 }))).toEqual([
      { step: 'b', queue: 'qb', timeoutMs: expect.any(Number), input: { from: 'output' } },
      {
        step: 'c',
        queue: 'qc',
        timeoutMs: expect.any(Number),
        input: { from: 'value', value: { n: 1 } },
      },
      {
        step: 'd',
        queue: 'qd',
        timeoutMs: expect.any(Number),
        input: { from: 'value', value: { n: 1 } },
      },
    ]);
    // e needs JSONata over d's output; g has a `when`; h needs two steps; i fans out; a
    // fan-out's step is not chained from; k runs a sub-workflow.
    expect(chainAfter(def, 'd', 16, runInput(null))).toBeUndefined();
    expect(chainAfter(def, 'e', 16, runInput(null))?.map((l) => l.step)).toEqual(['f']);
    expect(chainAfter(def, 'f', 16, runInput(null))).toBeUndefined();
    expect(chainAfter(def, 'g', 16, runInput(null))).toBeUndefined();
    expect(chainAfter(def, 'i', 16, runInput(null))).toBeUndefined();
    expect(chainAfter(def, 'j', 16, runInput(null))).toBeUndefined();
  });

  it('stops at the configured length, and before copying a large run input too often', () => {
    const def = definition(yaml);
    expect(chainAfter(def, 'a', 1, runInput(null))?.map((l) => l.step)).toEqual(['b']);
    expect(chainAfter(def, 'a', 0, runInput(null))).toBeUndefined();
    const big = { text: 'x'.repeat(40_000) };
    // b takes a's output; c copies the 40 kB input; d would make it 80 kB (limit 64 KiB).
    expect(chainAfter(def, 'a', 16, runInput(big))?.map((l) => l.step)).toEqual(['b', 'c']);
  });

  it('never starts from the on-failure step', () => {
    const def = definition(`
name: w
version: 1
steps:
  a: { queue: qa }
onFailure: { queue: qf }
`);
    expect(chainAfter(def, '$onFailure', 16, runInput(null))).toBeUndefined();
  });
});
