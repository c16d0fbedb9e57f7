import { z } from 'zod';
import {
  defineContract,
  formatPath,
  messageHeader,
  parseMessage,
  parseWithSchema,
} from './contract';
import { contractJsonSchema } from './json-schema';

const ping = defineContract({
  type: 'test.ping',
  version: 2,
  description: 'A contract used only by this test.',
  schema: z.object({
    ...messageHeader('test.ping', 2),
    items: z.array(z.object({ n: z.number() })).min(1),
  }),
  examples: [{ type: 'test.ping', version: 2, items: [{ n: 1 }] }],
  invalidExamples: [],
});

describe('parseMessage', () => {
  it('returns the parsed value when valid', () => {
    const result = parseMessage(ping, { type: 'test.ping', version: 2, items: [{ n: 1 }] });
    expect(result).toEqual({
      ok: true,
      value: { type: 'test.ping', version: 2, items: [{ n: 1 }] },
    });
  });

  it('names every bad field as a dotted path, with the contract in the message', () => {
    const result = parseMessage(ping, { type: 'test.ping', version: 3, items: [{ n: 'x' }] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.path)).toEqual(['version', 'items.0.n']);
    expect(result.message).toMatch(/^invalid test\.ping v2 message: version: .+; items\.0\.n: .+$/);
  });

  it('reports a non-object at the root as (root)', () => {
    const result = parseWithSchema(ping.schema, 'hello');
    expect(result.ok ? [] : result.errors.map((e) => e.path)).toEqual(['(root)']);
  });

  it('formats paths', () => {
    expect(formatPath([])).toBe('(root)');
    expect(formatPath(['a', 0, 'b'])).toBe('a.0.b');
  });
});

describe('contractJsonSchema', () => {
  it('names the contract when its schema has no JSON Schema form', () => {
    const dated = defineContract({
      type: 'test.dated',
      version: 1,
      description: 'A contract with a type JSON cannot carry.',
      schema: z.object({ ...messageHeader('test.dated', 1), at: z.date() }),
      examples: [],
      invalidExamples: [],
    });
    expect(() => contractJsonSchema(dated)).toThrow(
      /contract test\.dated v1 cannot be expressed as JSON Schema .*z\.iso\.datetime\(\)/,
    );
  });

  it('describes the wire form with the contract metadata and examples', () => {
    expect(contractJsonSchema(ping)).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'test.ping.v2.json',
      title: 'test.ping v2',
      required: ['type', 'version', 'items'],
      examples: ping.examples,
    });
  });
});
