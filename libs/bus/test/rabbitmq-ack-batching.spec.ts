import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { defineQueue, type Bus, type Subscription } from '../src';
import { Job, job, waitFor } from './helpers';
import { deleteRunTopology, makeAmqpBus, prefix } from './rabbitmq';

jest.setTimeout(60_000);

/** Ready and unacknowledged messages of a queue, as the broker counts them. */
async function counts(queue: string): Promise<{ ready: number; unacked: number }> {
  const { stdout } = await promisify(execFile)(
    'rabbitmqctl',
    [
      'list_queues',
      '-q',
      '--no-table-headers',
      'name',
      'messages_ready',
      'messages_unacknowledged',
    ],
    { timeout: 30_000 },
  );
  for (const line of stdout.split('\n')) {
    const [name, ready, unacked] = line.split('\t');
    if (name === queue) return { ready: Number(ready), unacked: Number(unacked) };
  }
  throw new Error(`queue ${queue} not found`);
}

describe('ackBatchMs (acks that wait to leave together)', () => {
  let bus: Bus | undefined;
  let subscription: Subscription | undefined;
  let release: () => void = () => undefined;

  afterAll(async () => {
    // A failed expectation leaves delivery 2 waiting: cancelling waits for in-flight handlers.
    release();
    await subscription?.cancel();
    await bus?.close();
    await deleteRunTopology();
  });

  it('acks every finished delivery and never one still being handled, also with `multiple`', async () => {
    bus = await makeAmqpBus('ack-batch');
    const queue = defineQueue({
      name: `${prefix}.ack-batch.classic`,
      schema: Job,
      queueType: 'classic',
    });
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handled = new Set<number>();
    subscription = await bus.consume(
      queue,
      async ({ message }) => {
        // The second delivery is still being handled when the others' acks are flushed: an
        // ack with `multiple` covering it would remove it from the broker before it is done.
        if (message.n === 2) await gate;
        handled.add(message.n);
      },
      { prefetch: 10, ackBatchMs: 20 },
    );
    for (let n = 1; n <= 6; n++) await bus.publish(queue, job(n));

    await waitFor('deliveries 1, 3, 4, 5, 6 handled', () =>
      [1, 3, 4, 5, 6].every((n) => handled.has(n)),
    );
    await waitFor('their acks to reach the broker, and only theirs', async () => {
      const c = await counts(queue.name);
      return c.ready === 0 && c.unacked === 1;
    });
    expect(handled.has(2)).toBe(false);

    release();
    await waitFor('delivery 2 handled and acked', async () => {
      const c = await counts(queue.name);
      return handled.has(2) && c.ready === 0 && c.unacked === 0;
    });
  });
});
