// Seeded randomness for initialisation, dropout and data preparation. seedrandom's alea is the
// generator tfjs-core itself uses for seeded ops, so one well-known algorithm covers both.
import seedrandom from 'seedrandom';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** A fresh 31-bit seed, for handing to tfjs ops (dropout, randomNormal). */
  seed(): number;
}

export function createRng(seed: number | string): Rng {
  const prng = seedrandom.alea(String(seed));
  return {
    next: () => prng(),
    int: (n) => Math.floor(prng() * n),
    seed: () => Math.floor(prng() * 0x7fffffff),
  };
}

/** In-place Fisher-Yates shuffle. */
export function shuffle<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}
