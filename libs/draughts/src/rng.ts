/** Small seeded PRNG (mulberry32): reproducible self-play and Zobrist keys without Math.random. */
export type Rng = () => number;

/** Returns a generator of uint32 values determined by `seed`. */
export function createRng(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}
