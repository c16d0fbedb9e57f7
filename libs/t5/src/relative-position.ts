// T5's relative position buckets: exact buckets for short distances, logarithmic ones up to
// maxDistance, everything further shares the last bucket.

/**
 * Port of HF `T5Attention._relative_position_bucket` for one value. `relativePosition` is
 * key position minus query position. The log arithmetic is rounded to float32 at each step as
 * PyTorch does on float tensors, so bucket boundaries match it exactly.
 */
export function relativePositionBucket(
  relativePosition: number,
  bidirectional: boolean,
  numBuckets: number,
  maxDistance: number,
): number {
  let buckets = 0;
  let n = numBuckets;
  let rp = relativePosition;
  if (bidirectional) {
    n = Math.floor(n / 2);
    if (rp > 0) buckets += n;
    rp = Math.abs(rp);
  } else {
    rp = -Math.min(rp, 0);
  }
  const maxExact = Math.floor(n / 2);
  if (rp < maxExact) return buckets + rp;
  const f = Math.fround;
  const logRatio = f(Math.log(f(rp / maxExact)));
  const scaled = f(f(logRatio / f(Math.log(maxDistance / maxExact))) * (n - maxExact));
  const large = Math.min(maxExact + Math.trunc(scaled), n - 1);
  return buckets + large;
}

/** Bucket index for every (query, key) pair, row-major [queryLength, keyLength]. */
export function relativePositionBuckets(
  queryLength: number,
  keyLength: number,
  bidirectional: boolean,
  numBuckets: number,
  maxDistance: number,
  queryOffset = 0,
): Int32Array {
  // A bucket depends only on key − query, which takes queryLength + keyLength − 1 values: each is
  // computed once (the logarithm per pair was most of a 512 × 512 bias's cost).
  const lowest = -(queryLength - 1 + queryOffset);
  const byDistance = new Int32Array(Math.max(0, queryLength + keyLength - 1));
  for (let i = 0; i < byDistance.length; i++) {
    byDistance[i] = relativePositionBucket(lowest + i, bidirectional, numBuckets, maxDistance);
  }
  const out = new Int32Array(queryLength * keyLength);
  for (let q = 0; q < queryLength; q++) {
    // key − query − lowest = k + (queryLength − 1 − q)
    out.set(
      byDistance.subarray(queryLength - 1 - q, queryLength - 1 - q + keyLength),
      q * keyLength,
    );
  }
  return out;
}
