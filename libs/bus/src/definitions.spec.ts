import { z } from 'zod';
import { defineQueue, defineTopic, subscriptionQueue, topologyNames } from './definitions';

const schema = z.object({ type: z.string() });

describe('defineQueue', () => {
  it('fills defaults', () => {
    expect(defineQueue({ name: 'jobs', schema })).toMatchObject({
      kind: 'queue',
      name: 'jobs',
      maxAttempts: 5,
      retryDelayMs: 0,
      queueType: 'quorum',
    });
    expect(defineQueue({ name: 'jobs', schema, queueType: 'classic' }).queueType).toBe('classic');
  });

  it.each([
    [{ name: 'has space' }, /invalid queue name "has space"/],
    [{ name: '' }, /invalid queue name/],
    [{ name: 'q', maxAttempts: 0 }, /maxAttempts must be an integer ≥ 1, got 0/],
    [{ name: 'q', maxAttempts: 1.5 }, /maxAttempts/],
    [
      { name: 'q', retryDelayMs: -1 },
      /retryDelayMs must be an integer between 0 and 86400000, got -1/,
    ],
    [{ name: 'q', retryDelayMs: 90_000_000 }, /retryDelayMs/],
    [
      { name: 'q', queueType: 'stream' as never },
      /queueType must be quorum or classic, got stream/,
    ],
  ])('rejects %j', (options, message) => {
    expect(() => defineQueue({ schema, ...options })).toThrow(message);
  });
});

describe('topics', () => {
  it('validates exchange names', () => {
    expect(() => defineTopic({ exchange: 'a b', schema })).toThrow(/invalid exchange name/);
  });

  it('names the queue of a durable subscription after the exchange and subscription', () => {
    const topic = defineTopic({ exchange: 'runs', schema });
    expect(subscriptionQueue(topic, 'audit', { maxAttempts: 2 })).toMatchObject({
      name: 'runs.audit',
      maxAttempts: 2,
    });
  });

  it('derives the topology names', () => {
    expect(topologyNames.deadLetterQueue('jobs')).toBe('jobs.dlq');
    expect(topologyNames.deadLetterExchange('jobs')).toBe('jobs.dlx');
    expect(topologyNames.retryQueue('jobs')).toBe('jobs.retry');
  });
});
