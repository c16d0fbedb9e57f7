/** The design's input window: the first 256 tokens (prefix + title + start of body) and the last 256. */
export const HEAD_TOKENS = 256;
export const TAIL_TOKENS = 256;

/**
 * Keeps the first `head` and the last `tail` tokens of a sequence longer than head + tail. The
 * title is at the start and a question's code or error output often at the end, so both ends
 * carry the signal; the middle is the cheapest part to drop.
 */
export function keepHeadAndTail<T>(tokens: readonly T[], head = HEAD_TOKENS, tail = TAIL_TOKENS): T[] {
  if (!Number.isInteger(head) || !Number.isInteger(tail) || head < 0 || tail < 0) {
    throw new Error(`head and tail must be integers ≥ 0, got ${head} and ${tail}`);
  }
  if (tokens.length <= head + tail) return [...tokens];
  return [...tokens.slice(0, head), ...tokens.slice(tokens.length - tail)];
}
