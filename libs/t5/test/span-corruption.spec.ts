import { createRng } from '../src/random';
import { randomSpansNoiseMask, spanCorruption } from '../src/span-corruption';
import { must } from './helpers';

describe('span corruption', () => {
  it('masks round(length * density) tokens in round(noise / meanSpan) spans, never at the very start', () => {
    for (let seed = 0; seed < 20; seed++) {
      const mask = randomSpansNoiseMask(100, 0.15, 3, createRng(seed));
      expect(mask.length).toBe(100);
      expect(mask.filter(Boolean).length).toBe(15);
      const spans = mask.filter((m, i) => m && (i === 0 || !mask[i - 1])).length;
      expect(spans).toBe(5);
      expect(mask[0]).toBe(false); // t5 starts with a non-noise segment
    }
  });

  it('builds inputs with sentinels and targets listing each sentinel then its hidden tokens', () => {
    const tokens = Array.from({ length: 30 }, (_, i) => 100 + i);
    const sentinelId = (i: number) => 999 - i;
    const { inputIds, labels } = spanCorruption(tokens, {
      sentinelId,
      eosTokenId: 1,
      rng: createRng(4),
    });
    expect(inputIds[inputIds.length - 1]).toBe(1);
    expect(labels[labels.length - 1]).toBe(1);
    // Reassemble: replacing each sentinel in the input by its target span restores the text.
    const spans = new Map<number, number[]>();
    let current = -1;
    for (const id of labels.slice(0, -1)) {
      if (id >= 990) spans.set((current = id), []);
      else must(spans.get(current)).push(id);
    }
    const restored = inputIds
      .slice(0, -1)
      .flatMap((id) => (id >= 990 ? must(spans.get(id)) : [id]));
    expect(restored).toEqual(tokens);
    expect([...spans.keys()]).toEqual([999, 998, 997].slice(0, spans.size));
    expect([...spans.values()].flat().length).toBe(Math.round(30 * 0.15));
  });

  it('is reproducible for a seed', () => {
    const tokens = Array.from({ length: 50 }, (_, i) => i + 10);
    const opts = (seed: number) => ({
      sentinelId: (i: number) => 500 - i,
      eosTokenId: 1,
      rng: createRng(seed),
    });
    expect(spanCorruption(tokens, opts(1))).toEqual(spanCorruption(tokens, opts(1)));
    expect(spanCorruption(tokens, opts(1))).not.toEqual(spanCorruption(tokens, opts(2)));
  });
});
