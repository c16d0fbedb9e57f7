/**
 * AMQP topic matching: words separated by '.', '*' = exactly one word, '#' = zero or more.
 * The embedded transport needs it to route events as a RabbitMQ topic exchange would.
 */
export function topicMatches(pattern: string, routingKey: string): boolean {
  const p = pattern.split('.');
  const k = routingKey.split('.');
  // Memoised on (i, j): '#' makes naive backtracking exponential on adversarial patterns.
  const memo = new Map<number, boolean>();
  const match = (i: number, j: number): boolean => {
    const key = i * (k.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === p.length) result = j === k.length;
    else if (p[i] === '#') result = match(i + 1, j) || (j < k.length && match(i, j + 1));
    else result = j < k.length && (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return match(0, 0);
}
