import { topicMatches } from './topic-pattern';

describe('topicMatches (AMQP topic exchange rules)', () => {
  it.each([
    ['order.created', 'order.created', true],
    ['order.*', 'order.created', true],
    ['order.*', 'order.line.added', false],
    ['order.*', 'order', false],
    ['order.#', 'order', true],
    ['order.#', 'order.line.added', true],
    ['#', 'anything.at.all', true],
    ['#', '', true],
    ['*.created', 'order.created', true],
    ['#.added', 'order.line.added', true],
    ['order.#.added', 'order.added', true],
    ['order.#.added', 'order.line.item.added', true],
    ['order.#.added', 'order.line.removed', false],
    ['*', 'a.b', false],
  ])('%s vs %s → %s', (pattern, key, expected) => {
    expect(topicMatches(pattern, key)).toBe(expected);
  });

  it('stays fast on patterns that make naive backtracking explode', () => {
    const key = Array.from({ length: 60 }, () => 'a').join('.');
    expect(topicMatches('#.#.#.#.#.#.#.#.b', key)).toBe(false);
  });
});
