import { relativePositionBucket, relativePositionBuckets } from '../src/relative-position';

// Expected values worked out by hand from HF T5Attention._relative_position_bucket with
// num_buckets=32, max_distance=128. relativePosition = key - query.
describe('relativePositionBucket', () => {
  it('encoder (bidirectional): 16 buckets per direction, 8 exact then logarithmic', () => {
    const b = (rp: number) => relativePositionBucket(rp, true, 32, 128);
    expect(b(0)).toBe(0);
    expect(b(-1)).toBe(1);
    expect(b(-7)).toBe(7);
    expect(b(1)).toBe(17); // keys after the query use the upper half
    expect(b(7)).toBe(23);
    expect(b(-8)).toBe(8); // 8 + floor(log(8/8)/log(16)*8)
    expect(b(-15)).toBe(9); // 8 + floor(1.81)
    expect(b(-16)).toBe(10); // log(2)/log(16) = 1/4 exactly
    expect(b(-32)).toBe(12);
    expect(b(-64)).toBe(14); // 3/4 * 8 = 6 exactly in float32
    expect(b(-127)).toBe(15);
    expect(b(-128)).toBe(15); // 8 + 8 clipped to the last bucket
    expect(b(-1000)).toBe(15);
    expect(b(20)).toBe(26); // 16 + 8 + floor(log(2.5)/log(16)*8 = 2.64)
    expect(b(1000)).toBe(31);
  });

  it('decoder (causal): future keys share bucket 0, 16 exact then logarithmic', () => {
    const b = (rp: number) => relativePositionBucket(rp, false, 32, 128);
    expect(b(5)).toBe(0);
    expect(b(0)).toBe(0);
    expect(b(-3)).toBe(3);
    expect(b(-15)).toBe(15);
    expect(b(-16)).toBe(16);
    expect(b(-32)).toBe(21); // 16 + floor(log(2)/log(8)*16 = 5.33)
    expect(b(-64)).toBe(26); // 16 + floor(10.67)
    expect(b(-96)).toBe(29);
    expect(b(-127)).toBe(31);
    expect(b(-128)).toBe(31);
    expect(b(-5000)).toBe(31);
  });

  it('builds the [query, key] matrix with key - query offsets', () => {
    const m = relativePositionBuckets(2, 3, true, 32, 128);
    expect(Array.from(m)).toEqual([0, 17, 18, 1, 0, 17]);
    const causal = relativePositionBuckets(3, 3, false, 32, 128);
    expect(Array.from(causal)).toEqual([0, 0, 0, 1, 0, 0, 2, 1, 0]);
  });

  it('gives every pair the bucket of its own distance, for any shape and query offset', () => {
    for (const [q, k, offset] of [
      [1, 1, 0],
      [5, 9, 0],
      [9, 5, 0],
      [300, 300, 0],
      [4, 40, 3],
    ] as const) {
      for (const bidirectional of [true, false]) {
        const m = relativePositionBuckets(q, k, bidirectional, 32, 128, offset);
        expect(m).toHaveLength(q * k);
        for (let i = 0; i < q; i++) {
          for (let j = 0; j < k; j++) {
            const expected = relativePositionBucket(j - (i + offset), bidirectional, 32, 128);
            if (m[i * k + j] !== expected) {
              throw new Error(
                `[${q}×${k}+${offset}] pair (${i}, ${j}): ${m[i * k + j]} ≠ ${expected}`,
              );
            }
          }
        }
      }
    }
  });
});
