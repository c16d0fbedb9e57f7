import { z } from 'zod';
import { toDeadLetter } from './dead-letter';
import { processDelivery, redeliveryOutcome, type Outcome } from './delivery';
import { HEADERS } from './headers';
import { DeadLetterError } from './transport';

const policy = { schema: z.object({ n: z.number() }), maxAttempts: 3, retryDelayMs: 250 };
const context = { queue: 'jobs', exchange: '' };
const raw = (body: string, headers: Record<string, unknown> = {}) => ({
  body: Buffer.from(body),
  headers,
  messageId: 'm1',
  routingKey: 'jobs',
});

describe('processDelivery', () => {
  it('acks what the handler accepted, handing it the parsed message and attempt', async () => {
    const seen: unknown[] = [];
    const outcome = await processDelivery(
      raw('{"n":1}', { [HEADERS.attempt]: 2 }),
      policy,
      async (d) => {
        seen.push(d);
      },
      context,
    );
    expect(outcome).toEqual({ kind: 'ack', attempt: 2 });
    expect(seen[0]).toMatchObject({
      message: { n: 1 },
      attempt: 2,
      messageId: 'm1',
      routingKey: 'jobs',
    });
  });

  it('schedules a retry with attempt + 1, the delay, the error and the first failure time', async () => {
    const outcome = await processDelivery(
      raw('{"n":1}'),
      policy,
      async () => {
        throw new Error('boom');
      },
      context,
    );
    expect(outcome).toMatchObject({ kind: 'retry', attempt: 1, delayMs: 250, error: 'boom' });
    if (outcome.kind !== 'retry') return;
    expect(outcome.headers[HEADERS.attempt]).toBe(2);
    expect(outcome.headers[HEADERS.lastError]).toBe('boom');
    expect(outcome.headers[HEADERS.firstFailureAt]).toEqual(expect.any(String));
  });

  it('keeps the first failure time across retries and drops broker death records', async () => {
    const outcome = await processDelivery(
      raw('{"n":1}', {
        [HEADERS.firstFailureAt]: '2020-01-01T00:00:00.000Z',
        'x-death': [{}],
        'x-delivery-count': 1,
      }),
      policy,
      async () => {
        throw new Error('again');
      },
      context,
    );
    if (outcome.kind !== 'retry') throw new Error(`expected retry, got ${outcome.kind}`);
    expect(outcome.headers[HEADERS.firstFailureAt]).toBe('2020-01-01T00:00:00.000Z');
    expect(outcome.headers).not.toHaveProperty('x-death');
    expect(outcome.headers).not.toHaveProperty('x-delivery-count');
  });

  it('dead-letters on the last attempt, on DeadLetterError, on bad JSON and on schema errors', async () => {
    const fail = async () => {
      throw new Error('still down');
    };
    const last = await processDelivery(
      raw('{"n":1}', { [HEADERS.attempt]: 3 }),
      policy,
      fail,
      context,
    );
    expect(last).toMatchObject({
      kind: 'dead-letter',
      cause: 'attempts-exhausted',
      reason: 'failed after 3 attempt(s): still down',
    });
    const rejected = await processDelivery(
      raw('{"n":1}'),
      policy,
      async () => {
        throw new DeadLetterError('never valid');
      },
      context,
    );
    expect(rejected).toMatchObject({ kind: 'dead-letter', cause: 'rejected', attempt: 1 });
    const json = await processDelivery(raw('nope'), policy, fail, context);
    expect(json).toMatchObject({ kind: 'dead-letter', cause: 'invalid-json' });
    const schema = await processDelivery(raw('{"n":"x"}'), policy, fail, context);
    expect(schema).toMatchObject({ kind: 'dead-letter', cause: 'invalid-message' });
    if (schema.kind !== 'dead-letter') return;
    expect(schema.reason).toMatch(/^invalid message: n: /);
    expect(schema.headers).toMatchObject({
      [HEADERS.reason]: schema.reason,
      [HEADERS.originalQueue]: 'jobs',
      [HEADERS.originalRoutingKey]: 'jobs',
      [HEADERS.attempt]: 1,
    });
  });
});

describe('toDeadLetter', () => {
  it('reads what RabbitMQ wrote when it dead-lettered the message itself', () => {
    const dead = toDeadLetter(
      Buffer.from('{"n":1}'),
      {
        'x-death': [{ reason: 'delivery_limit', queue: 'jobs', count: 1 }],
        'x-delivery-count': 10,
      },
      'm9',
    );
    expect(dead).toMatchObject({
      body: { n: 1 },
      originalQueue: 'jobs',
      attempts: 10,
      messageId: 'm9',
    });
    expect(dead.reason).toMatch(/^delivery limit reached/);
  });

  it('keeps a body that is not JSON as text', () => {
    expect(
      toDeadLetter(Buffer.from('<xml/>'), { [HEADERS.reason]: 'invalid JSON: x' }, undefined),
    ).toMatchObject({
      body: '<xml/>',
      reason: 'invalid JSON: x',
    });
  });
});

describe('redeliveryOutcome (classic queues: the delivery-limit stand-in)', () => {
  const headersOf = (outcome: Outcome | undefined) =>
    outcome && outcome.kind !== 'ack' ? outcome.headers : {};

  it('counts a redelivery as an attempt: republish with attempt + 1 and no delay', () => {
    const outcome = redeliveryOutcome(
      raw('{"n":1}', { [HEADERS.attempt]: 2, 'x-death': [{}], tenant: 'acme' }),
      policy,
      context,
    );
    expect(outcome).toMatchObject({ kind: 'retry', attempt: 2, delayMs: 0 });
    expect(headersOf(outcome)).toMatchObject({
      [HEADERS.attempt]: 3,
      [HEADERS.lastError]: expect.stringMatching(/redelivered/),
      [HEADERS.originalRoutingKey]: 'jobs',
      tenant: 'acme',
    });
    expect(headersOf(outcome)).not.toHaveProperty('x-death');
  });

  it('dead-letters a redelivery on the last attempt, saying the delivery limit was reached', () => {
    const outcome = redeliveryOutcome(raw('{"n":1}', { [HEADERS.attempt]: 3 }), policy, context);
    expect(outcome).toMatchObject({ kind: 'dead-letter', attempt: 3, cause: 'attempts-exhausted' });
    const letter = toDeadLetter(Buffer.from('{"n":1}'), headersOf(outcome), 'm1');
    expect(letter.reason).toMatch(/^delivery limit reached: redelivered.*attempt 3 of 3/);
    expect(letter.originalQueue).toBe('jobs');
  });
});
