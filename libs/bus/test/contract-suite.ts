import { Registry } from 'prom-client';
import {
  DeadLetterError,
  defineQueue,
  defineTopic,
  HEADERS,
  subscriptionQueue,
  type Bus,
  type QueueType,
} from '../src';
import { Event, Job, job, sleep, waitFor } from './helpers';

/** What each transport's test file provides to the shared suite. */
export interface BusFixture {
  /** A new bus (a new "connection") on the fixture's broker. */
  makeBus(options?: { registry?: Registry }): Promise<Bus>;
  /** Bytes straight into a queue, bypassing the bus's validation (a foreign or buggy producer). */
  publishRaw(queue: string, body: Buffer, headers?: Record<string, unknown>): Promise<void>;
  /** A queue/exchange name unique to this run, cleaned up afterwards. */
  name(suffix: string): string;
  /** Queue type of every queue the suite defines (default quorum): both types keep the contract. */
  queueType?: QueueType;
  cleanup(): Promise<void>;
}

/**
 * The semantics every Bus implementation must share. Runs against the embedded transport and
 * against the real RabbitMQ broker, so local mode behaves like production.
 */
export function runBusContractSuite(label: string, makeFixture: () => Promise<BusFixture>): void {
  describe(`Bus contract: ${label}`, () => {
    let fx: BusFixture;
    let bus: Bus;

    beforeAll(async () => {
      fx = await makeFixture();
      bus = await fx.makeBus();
    });
    afterAll(async () => {
      await bus?.close();
      await fx?.cleanup();
    });

    it('delivers a published message with its id, headers, correlation id and attempt 1', async () => {
      const queue = defineQueue({
        queueType: fx.queueType,
        name: fx.name('roundtrip'),
        schema: Job,
      });
      const seen: {
        message: Job;
        messageId: string;
        attempt: number;
        routingKey: string;
        headers: object;
      }[] = [];
      const sub = await bus.consume(queue, async (d) => {
        seen.push({ ...d });
      });
      await bus.publish(queue, job(1), {
        messageId: 'm-1',
        headers: { tenant: 'acme' },
        correlationId: 'c-1',
      });
      await waitFor('the delivery', () => seen.length === 1);
      expect(seen[0]).toMatchObject({
        message: job(1),
        messageId: 'm-1',
        attempt: 1,
        routingKey: queue.name,
      });
      expect(seen[0]?.headers).toMatchObject({ tenant: 'acme', [HEADERS.correlationId]: 'c-1' });
      await sub.cancel();
    });

    it('rejects an invalid message on publish, naming the field, and enqueues nothing', async () => {
      const queue = defineQueue({
        queueType: fx.queueType,
        name: fx.name('invalid-publish'),
        schema: Job,
      });
      const bad = { ...job(1), text: 42 } as unknown as Job;
      await expect(bus.publish(queue, bad)).rejects.toThrow(/text: /);
      expect(await bus.queueDepth(queue)).toBe(0);
    });

    it('skips the publish-side check with validate: false, and the consumer still dead-letters an invalid message', async () => {
      const queue = defineQueue({
        queueType: fx.queueType,
        name: fx.name('unvalidated-publish'),
        schema: Job,
      });
      const handled: number[] = [];
      const sub = await bus.consume(queue, async (d) => void handled.push(d.message.n));
      // What a bug in typed code could send: the bus no longer stops it on the way out…
      const bad = { ...job(1), n: 'seven' } as unknown as Job;
      await bus.publish(queue, bad, { validate: false });
      await bus.publish(queue, job(2), { validate: false });
      // …and the boundary on the way in does: the invalid one never reaches the handler.
      const dead: Awaited<ReturnType<Bus['drainDeadLetters']>> = [];
      await waitFor('the invalid message dead-lettered, the valid one handled', async () => {
        dead.push(...(await bus.drainDeadLetters(queue)));
        return dead.length === 1 && handled.length === 1;
      });
      await sub.cancel();
      expect(handled).toEqual([2]);
      expect(dead[0]?.reason).toMatch(/^invalid message: n: /);
    });

    it('counts ready messages with queueDepth before anyone consumes', async () => {
      const queue = defineQueue({ queueType: fx.queueType, name: fx.name('depth'), schema: Job });
      await bus.assertQueue(queue);
      expect(await bus.queueDepth(queue)).toBe(0);
      for (let i = 0; i < 3; i++) await bus.publish(queue, job(i));
      await waitFor('depth 3', async () => (await bus.queueDepth(queue)) === 3);
    });

    it('retries a failing handler with a growing attempt counter, then acks', async () => {
      const queue = defineQueue({
        queueType: fx.queueType,
        name: fx.name('retry'),
        schema: Job,
        maxAttempts: 5,
      });
      const attempts: number[] = [];
      let done = false;
      const sub = await bus.consume(queue, async (d) => {
        attempts.push(d.attempt);
        if (d.attempt < 3) throw new Error(`flaky ${d.attempt}`);
        done = true;
      });
      await bus.publish(queue, job(7));
      await waitFor('success on attempt 3', () => done);
      await sub.cancel();
      expect(attempts).toEqual([1, 2, 3]);
      expect(await bus.drainDeadLetters(queue)).toEqual([]);
      expect(await bus.queueDepth(queue)).toBe(0);
    });

    it('waits retryDelayMs before redelivering', async () => {
      const queue = defineQueue({
        queueType: fx.queueType,
        name: fx.name('delay'),
        schema: Job,
        maxAttempts: 2,
        retryDelayMs: 300,
      });
      const times: number[] = [];
      const sub = await bus.consume(queue, async (d) => {
        times.push(Date.now());
        if (d.attempt === 1) throw new Error('later, please');
      });
      await bus.publish(queue, job(1));
      await waitFor('the retry', () => times.length === 2);
      await sub.cancel();
      // A lower bound only: a delayed retry must never come early (the broker may be slow).
      expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(280);
    });

    it('dead-letters after maxAttempts with the error as reason and the origin in headers', async () => {
      const queue = defineQueue({
        queueType: fx.queueType,
        name: fx.name('exhaust'),
        schema: Job,
        maxAttempts: 3,
      });
      let calls = 0;
      const sub = await bus.consume(queue, async () => {
        calls += 1;
        throw new Error('database is down');
      });
      await bus.publish(queue, job(9), { messageId: 'poison-1' });
      let dead: Awaited<ReturnType<Bus['drainDeadLetters']>> = [];
      await waitFor(
        'the dead letter',
        async () => (dead = dead.concat(await bus.drainDeadLetters(queue))).length > 0,
      );
      await sub.cancel();
      expect(calls).toBe(3);
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({
        body: job(9),
        originalQueue: queue.name,
        attempts: 3,
        messageId: 'poison-1',
        routingKey: queue.name,
      });
      expect(dead[0]?.reason).toMatch(/failed after 3 attempt\(s\): database is down/);
      expect(dead[0]?.firstFailureAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    });

    it('dead-letters at once when the handler throws DeadLetterError', async () => {
      const queue = defineQueue({
        queueType: fx.queueType,
        name: fx.name('reject'),
        schema: Job,
        maxAttempts: 5,
      });
      expect(await bus.deadLetterDepth(queue)).toBe(0);
      let calls = 0;
      const sub = await bus.consume(queue, async () => {
        calls += 1;
        throw new DeadLetterError('unsupported language');
      });
      await bus.publish(queue, job(1));
      await waitFor('one dead letter', async () => (await bus.deadLetterDepth(queue)) === 1);
      const dead = await bus.drainDeadLetters(queue);
      expect(await bus.deadLetterDepth(queue)).toBe(0);
      await sub.cancel();
      expect(calls).toBe(1);
      expect(dead[0]).toMatchObject({
        attempts: 1,
        reason: 'rejected by handler: unsupported language',
      });
    });

    it('replays dead letters into the queue with a fresh attempt counter', async () => {
      const queue = defineQueue({
        queueType: fx.queueType,
        name: fx.name('replay'),
        schema: Job,
        maxAttempts: 2,
      });
      let broken = true;
      const handled: { n: number; attempt: number; tenant: unknown }[] = [];
      const sub = await bus.consume(queue, async (d) => {
        if (broken) throw new Error('bug in v1');
        handled.push({ n: d.message.n, attempt: d.attempt, tenant: d.headers['tenant'] });
      });
      await bus.publish(queue, job(4), { headers: { tenant: 'acme' } });
      await waitFor('the dead letter', async () => (await bus.deadLetterDepth(queue)) === 1);
      broken = false; // "deploy the fix"
      expect(await bus.replayDeadLetters(queue)).toBe(1);
      await waitFor('the replayed message', () => handled.length === 1);
      await sub.cancel();
      expect(handled).toEqual([{ n: 4, attempt: 1, tenant: 'acme' }]);
      expect(await bus.deadLetterDepth(queue)).toBe(0);
      expect(await bus.replayDeadLetters(queue)).toBe(0);
    });

    it('dead-letters bytes that are not JSON, and JSON that breaks the schema naming the field', async () => {
      const queue = defineQueue({ queueType: fx.queueType, name: fx.name('raw'), schema: Job });
      let handled = 0;
      const sub = await bus.consume(queue, async () => {
        handled += 1;
      });
      await fx.publishRaw(queue.name, Buffer.from('{"type": "test.job", oops'));
      await fx.publishRaw(queue.name, Buffer.from(JSON.stringify({ ...job(1), n: 'seven' })));
      const dead: Awaited<ReturnType<Bus['drainDeadLetters']>> = [];
      await waitFor('two dead letters', async () => {
        dead.push(...(await bus.drainDeadLetters(queue)));
        return dead.length === 2;
      });
      await sub.cancel();
      expect(handled).toBe(0);
      const reasons = dead.map((d) => d.reason).sort();
      expect(reasons[0]).toMatch(/^invalid JSON: /);
      expect(reasons[1]).toMatch(/^invalid message: n: /);
      expect(dead.find((d) => d.reason.startsWith('invalid JSON'))?.body).toBe(
        '{"type": "test.job", oops',
      );
    });

    it('never runs more handlers at once than the prefetch', async () => {
      const queue = defineQueue({
        queueType: fx.queueType,
        name: fx.name('prefetch'),
        schema: Job,
      });
      let running = 0;
      let peak = 0;
      let done = 0;
      const sub = await bus.consume(
        queue,
        async () => {
          running += 1;
          peak = Math.max(peak, running);
          await sleep(15);
          running -= 1;
          done += 1;
        },
        { prefetch: 3 },
      );
      await Promise.all(Array.from({ length: 20 }, (_, i) => bus.publish(queue, job(i))));
      await waitFor('20 handled', () => done === 20);
      await sub.cancel();
      expect(peak).toBeLessThanOrEqual(3);
      expect(peak).toBeGreaterThan(1);
    });

    it('shares a queue between competing consumers: each message handled once', async () => {
      const queue = defineQueue({ queueType: fx.queueType, name: fx.name('compete'), schema: Job });
      const other = await fx.makeBus();
      const byConsumer = [new Set<number>(), new Set<number>()];
      const slow = async () => sleep(5);
      const subs = [
        await bus.consume(
          queue,
          async (d) => {
            byConsumer[0]?.add(d.message.n);
            await slow();
          },
          { prefetch: 2 },
        ),
        await other.consume(
          queue,
          async (d) => {
            byConsumer[1]?.add(d.message.n);
            await slow();
          },
          { prefetch: 2 },
        ),
      ];
      await Promise.all(Array.from({ length: 40 }, (_, i) => bus.publish(queue, job(i))));
      await waitFor(
        '40 handled',
        () => (byConsumer[0]?.size ?? 0) + (byConsumer[1]?.size ?? 0) === 40,
      );
      await Promise.all(subs.map((s) => s.cancel()));
      await other.close();
      const all = new Set([...(byConsumer[0] ?? []), ...(byConsumer[1] ?? [])]);
      expect(all.size).toBe(40);
      expect(byConsumer[0]?.size).toBeGreaterThan(0);
      expect(byConsumer[1]?.size).toBeGreaterThan(0);
    });

    it('stops delivering after cancel, and waits for in-flight handlers', async () => {
      const queue = defineQueue({ queueType: fx.queueType, name: fx.name('cancel'), schema: Job });
      let finished = 0;
      let started = 0;
      const sub = await bus.consume(
        queue,
        async () => {
          started += 1;
          await sleep(100);
          finished += 1;
        },
        { prefetch: 1 },
      );
      await bus.publish(queue, job(1));
      await waitFor('the first delivery', () => started === 1);
      await sub.cancel();
      expect(finished).toBe(1);
      await bus.publish(queue, job(2));
      // A consumer still attached would have been handed job 2 as it arrived, so it would not
      // be waiting in the queue.
      await waitFor(
        'the second message to wait in the queue',
        async () => (await bus.queueDepth(queue)) === 1,
      );
      // And it is still there for a new consumer: the cancelled one never received it.
      const taken: number[] = [];
      const next = await bus.consume(queue, async (d) => void taken.push(d.message.n));
      await waitFor('a new consumer to get job 2', () => taken.includes(2));
      await next.cancel();
      expect(taken).toEqual([2]);
      expect(started).toBe(1);
    });

    it('routes events by pattern: every transient subscriber gets every matching event', async () => {
      const topic = defineTopic({ exchange: fx.name('events'), schema: Event });
      const a: string[] = [];
      const b: string[] = [];
      const c: string[] = [];
      const subs = [
        await bus.subscribe(topic, async (d) => void a.push(d.routingKey), { pattern: 'order.*' }),
        await bus.subscribe(topic, async (d) => void b.push(d.routingKey), { pattern: 'order.#' }),
        await bus.subscribe(topic, async (d) => void c.push(d.routingKey)),
      ];
      await bus.publishEvent(topic, { type: 'order.created', id: 1 });
      await bus.publishEvent(topic, { type: 'order.line.added', id: 2 });
      await bus.publishEvent(topic, { type: 'invoice.sent', id: 3 });
      await bus.publishEvent(topic, { type: 'ignored', id: 4 }, { routingKey: 'order.paid' });
      await waitFor('all events', () => a.length === 2 && b.length === 3 && c.length === 4);
      await Promise.all(subs.map((s) => s.cancel()));
      expect(a.sort()).toEqual(['order.created', 'order.paid']);
      expect(b.sort()).toEqual(['order.created', 'order.line.added', 'order.paid']);
      expect(c).toHaveLength(4);
    });

    it('tells a publisher who asks that no binding matched an event', async () => {
      const topic = defineTopic({ exchange: fx.name('probe'), schema: Event });
      const received: string[] = [];
      const unroutable: string[] = [];
      const publish = (type: string) =>
        bus.publishEvent(topic, { type, id: 1 }, { onUnroutable: () => unroutable.push(type) });
      await publish('nobody.listens');
      const sub = await bus.subscribe(topic, async (d) => void received.push(d.routingKey), {
        pattern: 'order.#',
      });
      await publish('order.created');
      await publish('invoice.sent');
      await waitFor('the routed event', () => received.length === 1);
      await sub.cancel();
      expect(received).toEqual(['order.created']);
      expect(unroutable).toEqual(['nobody.listens', 'invoice.sent']);
    });

    it('refuses an event without a type when no routing key is given', async () => {
      const topic = defineTopic({ exchange: fx.name('untyped'), schema: Event.partial() });
      await expect(bus.publishEvent(topic, { id: 1 })).rejects.toThrow(
        /no string "type"; pass options.routingKey/,
      );
    });

    it('gives each durable subscription every event once, shared by its replicas, with retries and a DLQ', async () => {
      const topic = defineTopic({ exchange: fx.name('durable'), schema: Event });
      const other = await fx.makeBus();
      const audit: number[] = [];
      const billing: number[] = [];
      const attemptsOf5: number[] = [];
      const subs = [
        await bus.subscribe(topic, async (d) => void audit.push(d.message.id), {
          durableName: 'audit',
        }),
        await other.subscribe(topic, async (d) => void audit.push(d.message.id), {
          durableName: 'audit',
        }),
        await bus.subscribe(
          topic,
          async (d) => {
            if (d.message.id === 5) {
              attemptsOf5.push(d.attempt);
              expect(d.routingKey).toBe('thing.happened');
              throw new Error('billing cannot handle 5');
            }
            billing.push(d.message.id);
          },
          { durableName: 'billing', maxAttempts: 2 },
        ),
      ];
      for (let id = 1; id <= 6; id++) await bus.publishEvent(topic, { type: 'thing.happened', id });
      const billingQueue = subscriptionQueue(topic, 'billing', { maxAttempts: 2 });
      let dead: Awaited<ReturnType<Bus['drainDeadLetters']>> = [];
      await waitFor('events and the dead letter', async () => {
        dead = dead.concat(await bus.drainDeadLetters(billingQueue));
        return audit.length === 6 && billing.length === 5 && dead.length === 1;
      });
      await Promise.all(subs.map((s) => s.cancel()));
      await other.close();
      expect(audit.sort()).toEqual([1, 2, 3, 4, 5, 6]);
      expect(attemptsOf5).toEqual([1, 2]);
      expect(dead[0]).toMatchObject({
        body: { type: 'thing.happened', id: 5 },
        routingKey: 'thing.happened',
      });
      expect(dead[0]?.reason).toMatch(/billing cannot handle 5/);
    });

    it('counts published, consumed, acked, retried and dead-lettered messages', async () => {
      const registry = new Registry();
      const measured = await fx.makeBus({ registry });
      const queue = defineQueue({
        queueType: fx.queueType,
        name: fx.name('metrics'),
        schema: Job,
        maxAttempts: 3,
      });
      const sub = await measured.consume(queue, async (d) => {
        if (d.message.n === 2 && d.attempt === 1) throw new Error('once');
        if (d.message.n === 2) throw new DeadLetterError('then never');
      });
      await measured.publish(queue, job(1));
      await measured.publish(queue, job(2));
      await waitFor('the dead letter', async () => (await measured.deadLetterDepth(queue)) === 1);
      await sub.cancel();
      await measured.close();
      const value = async (name: string, labels: Record<string, string>) => {
        const metric = await registry.getSingleMetric(name)?.get();
        const match = metric?.values.find((v) =>
          Object.entries(labels).every(([k, l]) => v.labels[k] === l),
        );
        return match?.value ?? 0;
      };
      const q = { queue: queue.name };
      expect(await value('conveyor_bus_published_total', { destination: queue.name })).toBe(2);
      expect(await value('conveyor_bus_consumed_total', q)).toBe(3);
      expect(await value('conveyor_bus_acked_total', q)).toBe(1);
      expect(await value('conveyor_bus_retried_total', q)).toBe(1);
      expect(await value('conveyor_bus_dead_lettered_total', { ...q, cause: 'rejected' })).toBe(1);
    });

    it('refuses to publish on a closed bus', async () => {
      const closing = await fx.makeBus();
      await closing.close();
      expect(closing.isHealthy()).toBe(false);
      const queue = defineQueue({ queueType: fx.queueType, name: fx.name('closed'), schema: Job });
      await expect(closing.publish(queue, job(1))).rejects.toThrow(/the bus is closed/);
    });
  });
}
