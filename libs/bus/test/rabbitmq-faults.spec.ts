import { connect } from 'amqplib';
import { Registry } from 'prom-client';
import pino from 'pino';
import { createBus, defineQueue, defineTopic, QueueTypeMismatchError, type Bus } from '../src';
import { Event, Job, job, sleep, waitFor } from './helpers';
import {
  AMQP_URL,
  closeOwnConnections,
  connectionName,
  consumerCount,
  deleteRunTopology,
  makeAmqpBus,
  messageCount,
  prefix,
} from './rabbitmq';

jest.setTimeout(120_000);

/** Deletes a queue or exchange as an operator (or a broker reset) would, behind the bus's back. */
async function deleteFromOutside(what: { queue?: string; exchange?: string }): Promise<void> {
  const conn = await connect(AMQP_URL, {
    clientProperties: { connection_name: `${prefix}-operator` },
  });
  try {
    const ch = await conn.createChannel();
    if (what.queue) await ch.deleteQueue(what.queue);
    if (what.exchange) await ch.deleteExchange(what.exchange);
    await ch.close();
  } finally {
    await conn.close();
  }
}

async function metricValue(registry: Registry, name: string): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

describe('connecting', () => {
  it('refuses a URL that is not amqp(s)://, without leaking the password', async () => {
    await expect(createBus({ url: 'http://user:secret@localhost:5672' })).rejects.toThrow(
      /AMQP_URL must be an amqp:\/\/ or amqps:\/\/ URL .*http:\/\/user:\*\*\*@localhost:5672/,
    );
  });

  it("gives up after connectTimeoutMs with the broker's reason", async () => {
    const url = AMQP_URL.replace(/\/\/[^@]*@/, '//guest:wrong-password@');
    const started = Date.now();
    const error = await createBus({
      url,
      connectTimeoutMs: 1500,
      logger: pino({ level: 'silent' }),
      connectionName: connectionName('bad-auth'),
    }).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error?.message).toMatch(
      /cannot connect to RabbitMQ at amqp:\/\/guest:\*\*\*@.* within 1500 ms \(last error: .*ACCESS_REFUSED/,
    );
    expect(error?.message).not.toContain('wrong-password');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('RabbitMQ transport under faults', () => {
  const buses: Bus[] = [];
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close()));
    await deleteRunTopology();
  });

  it('loses none of 1,000 messages while consumer and publisher connections are force-closed', async () => {
    const queue = defineQueue({ name: `${prefix}.fault.stream`, schema: Job, maxAttempts: 5 });
    const registry = new Registry();
    const producerName = connectionName('producer');
    const workerName = connectionName('worker');
    const producer = await makeAmqpBus('producer', { connectionName: producerName, registry });
    const worker = await makeAmqpBus('worker', { connectionName: workerName, registry });
    buses.push(producer, worker);

    const handled = new Map<number, number>();
    await worker.consume(
      queue,
      async (d) => {
        await sleep(1);
        handled.set(d.message.n, (handled.get(d.message.n) ?? 0) + 1);
      },
      { prefetch: 20 },
    );

    const publishes: Promise<void>[] = [];
    const kills: Promise<number>[] = [];
    for (let i = 0; i < 1000; i++) {
      publishes.push(producer.publish(queue, job(i)));
      // Spread the stream over a few seconds so the kills land in the middle of it.
      if (i % 10 === 9) await sleep(20);
      if (i === 250) kills.push(closeOwnConnections(`${workerName}/consume`));
      if (i === 500) kills.push(closeOwnConnections(`${producerName}/publish`));
      if (i === 750) kills.push(closeOwnConnections(workerName), closeOwnConnections(producerName));
    }
    const results = await Promise.allSettled(publishes);
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed).toEqual([]);
    const killed = await Promise.all(kills);
    expect(killed[0]).toBe(1); // the worker's consume connection
    expect(killed[1]).toBe(1); // the producer's publish connection
    // Both of each, unless one was still reconnecting from the earlier kill.
    expect((killed[2] ?? 0) + (killed[3] ?? 0)).toBeGreaterThanOrEqual(2);

    await waitFor('all 1,000 messages handled', () => handled.size === 1000, 60_000);
    for (let i = 0; i < 1000; i++) expect(handled.get(i)).toBeGreaterThanOrEqual(1);
    await waitFor('the queue to drain', async () => (await worker.queueDepth(queue)) === 0);
    expect(await worker.drainDeadLetters(queue)).toEqual([]);
    // Recovered exactly once: one consumer on the queue, not one per reconnect. The broker's
    // consumer count is a statistics snapshot that can still show the moment of the last kill
    // (0 consumers) under load: wait until it lists any, then it must list exactly one.
    await waitFor(
      'the broker to list the consumer',
      async () => (await consumerCount(queue.name)) > 0,
    );
    expect(await consumerCount(queue.name)).toBe(1);
    expect(await metricValue(registry, 'conveyor_bus_reconnects_total')).toBeGreaterThanOrEqual(4);
    expect(worker.isHealthy() && producer.isHealthy()).toBe(true);
  });

  it('holds publishes made while disconnected and confirms them after the reconnect', async () => {
    const queue = defineQueue({ name: `${prefix}.fault.offline`, schema: Job });
    const name = connectionName('offline');
    const bus = await makeAmqpBus('offline', {
      connectionName: name,
      // Slow reconnects, so the publishes below surely happen while disconnected.
      reconnect: { initialDelayMs: 1500, maxDelayMs: 1500 },
    });
    buses.push(bus);
    await bus.assertQueue(queue);
    await closeOwnConnections(`${name}/publish`);
    await waitFor('the bus to notice', () => !bus.isHealthy());
    const pending = Array.from({ length: 20 }, (_, i) => bus.publish(queue, job(i)));
    await Promise.all(pending);
    await waitFor('20 messages in the queue', async () => (await bus.queueDepth(queue)) === 20);
  });

  it('re-creates a transient subscription (new exclusive queue, same pattern) after a reconnect', async () => {
    const topic = defineTopic({ exchange: `${prefix}.fault.transient`, schema: Event });
    const name = connectionName('transient');
    const bus = await makeAmqpBus('transient', { connectionName: name });
    buses.push(bus);
    const seen: number[] = [];
    await bus.subscribe(topic, async (d) => void seen.push(d.message.id), { pattern: 'tick.*' });
    await bus.publishEvent(topic, { type: 'tick.a', id: 1 });
    await waitFor('the first event', () => seen.includes(1));
    expect(await closeOwnConnections(`${name}/consume`)).toBe(1);
    await waitFor('the bus to reconnect', () => bus.isHealthy());
    // Events published before the new queue is bound are not seen (transient by design): retry.
    let id = 100;
    await waitFor('an event after the reconnect', async () => {
      await bus.publishEvent(topic, { type: 'tick.b', id: ++id });
      return seen.some((n) => n > 100);
    });
    await bus.publishEvent(topic, { type: 'tock', id: 2 }); // not matching the pattern
    await bus.publishEvent(topic, { type: 'tick.c', id: 3 });
    await waitFor('the last event', () => seen.includes(3));
    expect(seen).not.toContain(2);
  });

  it('rejects a publish that cannot be confirmed in time, saying why', async () => {
    const queue = defineQueue({ name: `${prefix}.fault.timeout`, schema: Job });
    const name = connectionName('timeout');
    const bus = await makeAmqpBus('timeout', {
      connectionName: name,
      publishTimeoutMs: 300,
      reconnect: { initialDelayMs: 3000, maxDelayMs: 3000 },
    });
    buses.push(bus);
    await bus.assertQueue(queue);
    await closeOwnConnections(`${name}/publish`);
    await waitFor('the bus to notice', () => !bus.isHealthy());
    await expect(bus.publish(queue, job(1))).rejects.toThrow(/not (confirmed|open) within 300 ms/);
  });

  it('re-subscribes when the broker cancels the consumer (queue deleted), and re-creates the queue for publishes', async () => {
    const queue = defineQueue({ name: `${prefix}.fault.deleted`, schema: Job });
    // The consumer's log: each re-subscription it starts ends with its channel open again.
    const label = `queue ${queue.name}`;
    const events: string[] = [];
    const log = pino(
      { level: 'debug' },
      {
        write: (line: string) => {
          const entry = JSON.parse(line) as { channel?: string; consumer?: string; msg: string };
          if (entry.channel === label || entry.consumer === label) events.push(entry.msg);
        },
      },
    );
    const bus = await makeAmqpBus('deleted', { logger: log });
    buses.push(bus);
    const handled = new Set<number>();
    await bus.consume(queue, async (d) => void handled.add(d.message.n));
    await bus.publish(queue, job(1));
    await waitFor('the first message', () => handled.has(1));

    await deleteFromOutside({ queue: queue.name });
    // This publish is returned unroutable (or races the re-declaration); either way it must arrive.
    await bus.publish(queue, job(2));
    await waitFor('the message after the deletion', () => handled.has(2));
    // Every re-subscription was started by now: the broker's cancel came on the consume
    // connection before job 2 did, the publisher's re-subscribe before job 2 was resent. Once
    // the last of them has its channel open again, nothing else can attach a consumer.
    const settled = () => {
      const lastOpen = events.lastIndexOf('channel open');
      const lastTrigger = Math.max(
        events.lastIndexOf('consumer cancelled by the broker; re-subscribing'),
        events.lastIndexOf('re-subscribing'),
      );
      return lastTrigger >= 0 && lastOpen > lastTrigger;
    };
    await waitFor('the last re-subscription to have its channel open', settled);
    await waitFor(
      'exactly one consumer, as the broker counts them',
      async () => (await consumerCount(queue.name)) === 1,
    );
  });

  it('recovers its confirm channel after the broker closes it (publish to a deleted exchange)', async () => {
    const topic = defineTopic({ exchange: `${prefix}.fault.exchange`, schema: Event });
    const bus = await makeAmqpBus('exchange');
    buses.push(bus);
    const seen: number[] = [];
    await bus.subscribe(topic, async (d) => void seen.push(d.message.id), {
      durableName: 'keeper',
    });
    await bus.publishEvent(topic, { type: 'thing', id: 1 });
    await waitFor('the first event', () => seen.includes(1));

    // The next publish hits a missing exchange: RabbitMQ closes the channel with 404 NOT_FOUND.
    await deleteFromOutside({ exchange: topic.exchange });
    await bus.publishEvent(topic, { type: 'thing', id: 2 });
    await bus.publishEvent(topic, { type: 'thing', id: 3 });
    await waitFor('events after the channel error', () => seen.includes(2) && seen.includes(3));
  });

  it('surfaces a declaration conflict clearly and keeps working after the server-closed channel', async () => {
    const name = `${prefix}.fault.conflict`;
    await deleteFromOutside({}); // warm-up no-op
    const conn = await connect(AMQP_URL, {
      clientProperties: { connection_name: `${prefix}-conflict` },
    });
    const ch = await conn.createChannel();
    await ch.assertQueue(name, { durable: true }); // a classic queue where the bus expects a quorum one
    await conn.close();

    const bus = await makeAmqpBus('conflict');
    buses.push(bus);
    const conflicting = defineQueue({ name, schema: Job });
    await expect(bus.queueDepth(conflicting)).rejects.toThrow(/PRECONDITION_FAILED/);
    await expect(bus.consume(conflicting, async () => undefined)).rejects.toThrow(
      new RegExp(`cannot consume queue ${name.replace(/\./g, '\\.')}: .*PRECONDITION_FAILED`),
    );

    const fine = defineQueue({ name: `${prefix}.fault.after-conflict`, schema: Job });
    const got: number[] = [];
    await bus.consume(fine, async (d) => void got.push(d.message.n));
    await bus.publish(fine, job(5));
    await waitFor('a message after the channel error', () => got.includes(5));
  });

  it.each([
    ['quorum', 'classic'],
    ['classic', 'quorum'],
  ] as const)(
    'names the queue, both types and the fix when a %s queue is declared as %s',
    async (existing, requested) => {
      const name = `${prefix}.fault.type-${existing}`;
      const owner = await makeAmqpBus(`type-owner-${existing}`);
      const other = await makeAmqpBus(`type-other-${existing}`);
      buses.push(owner, other);
      await owner.assertQueue(defineQueue({ name, schema: Job, queueType: existing }));

      const wrong = defineQueue({ name, schema: Job, queueType: requested });
      const expected = {
        name: 'QueueTypeMismatchError',
        queue: name,
        existingType: existing,
        requestedType: requested,
      };
      const declared = await other.assertQueue(wrong).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(declared).toBeInstanceOf(QueueTypeMismatchError);
      expect(declared).toMatchObject(expected);
      const message = (declared as Error).message;
      expect(message).toContain(`queue ${name} exists on the broker as a ${existing} queue`);
      expect(message).toContain(`declares it as ${requested}`);
      expect(message).toContain(`rabbitmqctl delete_queue ${name}`);
      // A consumer fails the same way (start-up), and nothing was changed on the broker.
      await expect(other.consume(wrong, async () => undefined)).rejects.toMatchObject(expected);
      await owner.publish(defineQueue({ name, schema: Job, queueType: existing }), job(1));
      await waitFor('the queue to be usable with its own type', async () => {
        const depth = await owner.queueDepth(
          defineQueue({ name, schema: Job, queueType: existing }),
        );
        return depth === 1;
      });
    },
  );

  it('dead-letters poison messages that keep killing the consumer (x-delivery-limit backstop)', async () => {
    const queue = defineQueue({ name: `${prefix}.fault.crash`, schema: Job });
    const producer = await makeAmqpBus('crash-producer');
    buses.push(producer);
    await producer.publish(queue, job(13));
    // A raw consumer that "crashes" (rejects with requeue) on every delivery, like a process
    // dying mid-handler: the bus's attempt counter never moves, the broker's delivery count does.
    const conn = await connect(AMQP_URL, {
      clientProperties: { connection_name: `${prefix}-crasher` },
    });
    const ch = await conn.createChannel();
    await ch.consume(queue.name, (msg) => msg && ch.nack(msg, false, true));
    let dead: Awaited<ReturnType<Bus['drainDeadLetters']>> = [];
    await waitFor('the broker to dead-letter it', async () => {
      dead = dead.concat(await producer.drainDeadLetters(queue));
      return dead.length === 1;
    });
    await conn.close();
    expect(dead[0]?.body).toEqual(job(13));
    expect(dead[0]?.originalQueue).toBe(queue.name);
    expect(dead[0]?.reason).toMatch(/delivery.limit/);
  });

  /** Takes one delivery of `queue` and returns it unacked, as a consumer dying mid-handler does. */
  async function crashOnce(queue: string): Promise<void> {
    const conn = await connect(AMQP_URL, {
      clientProperties: { connection_name: `${prefix}-crasher` },
    });
    try {
      const ch = await conn.createChannel();
      let msg: Awaited<ReturnType<typeof ch.get>> = false;
      await waitFor('a delivery to crash on', async () => (msg = await ch.get(queue)) !== false);
      if (msg) ch.nack(msg, false, true); // back to the queue, flagged redelivered
      await ch.close();
    } finally {
      await conn.close();
    }
  }

  it('classic queues: counts a crash redelivery as an attempt before the handler runs again', async () => {
    const queue = defineQueue({
      name: `${prefix}.fault.classic-crash`,
      schema: Job,
      queueType: 'classic',
      maxAttempts: 3,
    });
    const bus = await makeAmqpBus('classic-crash');
    buses.push(bus);
    await bus.publish(queue, job(21));
    await crashOnce(queue.name);
    const seen: { n: number; attempt: number }[] = [];
    const sub = await bus.consume(
      queue,
      async (d) => void seen.push({ n: d.message.n, attempt: d.attempt }),
    );
    await waitFor('the handler to run', () => seen.length === 1);
    // Settled (acked, or dead-lettered) once the queue holds nothing, not even unacked: it
    // cannot be delivered again after that.
    await waitFor('the message to be settled', async () => (await messageCount(queue.name)) === 0);
    await sub.cancel();
    expect(seen).toEqual([{ n: 21, attempt: 2 }]);
    expect(await bus.deadLetterDepth(queue)).toBe(0);
  });

  it('classic queues: dead-letters a message redelivered on its last attempt without running the handler', async () => {
    const queue = defineQueue({
      name: `${prefix}.fault.classic-poison`,
      schema: Job,
      queueType: 'classic',
      maxAttempts: 2,
    });
    const name = connectionName('classic-poison');
    const bus = await makeAmqpBus('classic-poison', { connectionName: name });
    buses.push(bus);
    await bus.publish(queue, job(22));
    await crashOnce(queue.name); // attempt 1 crashed → redelivered, counted as attempt 2
    let release = () => undefined as void;
    const hung = new Promise<void>((resolve) => (release = resolve));
    let runs = 0;
    await bus.consume(queue, async () => {
      runs += 1;
      await hung; // attempt 2 "hangs" until its consumer's connection dies
    });
    await waitFor('attempt 2 to start', () => runs === 1);
    // Its connection dies with attempt 2 unacked: the broker redelivers it to the re-created
    // consumer, which must dead-letter it rather than run it a third time.
    expect(await closeOwnConnections(name)).toBeGreaterThan(0);
    let dead: Awaited<ReturnType<Bus['drainDeadLetters']>> = [];
    await waitFor('the bus to dead-letter it', async () => {
      dead = dead.concat(await bus.drainDeadLetters(queue));
      return dead.length === 1;
    });
    release();
    expect(runs).toBe(1);
    expect(dead[0]?.body).toEqual(job(22));
    expect(dead[0]?.originalQueue).toBe(queue.name);
    expect(dead[0]?.attempts).toBe(2);
    expect(dead[0]?.reason).toMatch(/^delivery limit reached: redelivered/);
  });
});
