import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect, type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { QueueType } from './contract';

const exec = promisify(execFile);

/**
 * rabbitmqctl, for what AMQP cannot do: list who consumes a queue and force-close a connection.
 * It must run on the broker's host (or with a matching Erlang cookie), as CI's does.
 */
async function rabbitmqctl(...args: string[]): Promise<string> {
  try {
    const { stdout } = await exec('rabbitmqctl', args, { timeout: 30_000 });
    return stdout;
  } catch (error) {
    throw new Error(
      `rabbitmqctl ${args[0]} failed (${(error as Error).message.split('\n')[0]}); the kit needs ` +
        'rabbitmqctl on the broker host to find and close the worker connection',
    );
  }
}

const rows = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split('\t'));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface DeadLetter {
  readonly body: string;
  readonly headers: Record<string, unknown>;
}

/** The kit's own broker connection, and everything it does on the broker. */
export class Broker {
  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: ConfirmChannel,
  ) {}

  static async open(url: string, connectionName: string): Promise<Broker> {
    const connection = await connect(url, {
      clientProperties: { connection_name: connectionName },
    });
    const channel = await connection.createConfirmChannel();
    return new Broker(connection, channel);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** Consumers on `queue` (0 when it does not exist). */
  async consumers(queue: string): Promise<number> {
    return this.withScratchChannel(async (ch) => (await ch.checkQueue(queue)).consumerCount, 0);
  }

  /** Ready messages in `queue` (0 when it does not exist). */
  async depth(queue: string): Promise<number> {
    return this.withScratchChannel(async (ch) => (await ch.checkQueue(queue)).messageCount, 0);
  }

  /** Waits until every queue has a consumer (or none, with `present` false). */
  async waitForConsumers(
    queues: readonly string[],
    present: boolean,
    timeoutMs: number,
    isAlive: () => boolean = () => true,
  ): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const counts = await Promise.all(queues.map((q) => this.consumers(q)));
      const missing = queues.filter((_, i) => (counts[i] ?? 0) > 0 !== present);
      if (missing.length === 0) return;
      if (!isAlive()) throw new Error('the worker exited');
      if (Date.now() > until)
        throw new Error(
          present
            ? `no consumer on ${missing.join(', ')} within ${timeoutMs / 1000} s`
            : `${missing.join(', ')} still consumed after ${timeoutMs / 1000} s`,
        );
      await sleep(100);
    }
  }

  /** Publishes bytes as-is (persistent, confirmed) to `queue` through the default exchange. */
  async publishRaw(
    queue: string,
    body: Buffer,
    properties: { messageId?: string; headers?: Record<string, unknown> } = {},
  ): Promise<void> {
    this.channel.sendToQueue(queue, body, {
      persistent: true,
      contentType: 'application/json',
      ...properties,
    });
    await this.channel.waitForConfirms();
  }

  /**
   * Takes every ready message of `queue` and returns them all unacknowledged, as a consumer that
   * crashed would: the broker redelivers each with `redelivered = true`. Returns how many.
   */
  async crashOnAll(queue: string): Promise<number> {
    const ch = await this.connection.createChannel();
    let taken = 0;
    try {
      while (await ch.get(queue, { noAck: false })) taken++;
      ch.nackAll(true);
    } finally {
      await ch.close();
    }
    return taken;
  }

  /** Takes (and acks) the messages of `queue` now ready, up to 100. */
  async take(queue: string): Promise<DeadLetter[]> {
    const ch = await this.connection.createChannel();
    const out: DeadLetter[] = [];
    try {
      for (let i = 0; i < 100; i++) {
        const message = await ch.get(queue, { noAck: true });
        if (!message) break;
        out.push({
          body: message.content.toString('utf8'),
          headers: message.properties.headers ?? {},
        });
      }
    } finally {
      await ch.close();
    }
    return out;
  }

  /**
   * Declares a results queue the kit owns, with the arguments of protocol §1 for `type`, which a
   * worker declaring `replyTo` itself uses too: different ones would be PRECONDITION_FAILED.
   */
  async declareResultsQueue(queue: string, type: QueueType): Promise<void> {
    const dlx = { 'x-dead-letter-exchange': `${queue}.dlx` };
    await this.channel.assertQueue(queue, {
      durable: true,
      arguments:
        type === 'classic'
          ? { 'x-queue-type': 'classic', ...dlx }
          : {
              'x-queue-type': 'quorum',
              'x-delivery-limit': 10,
              ...dlx,
              'x-dead-letter-strategy': 'at-least-once',
              'x-overflow': 'reject-publish',
            },
    });
  }

  async deleteQueue(queue: string): Promise<void> {
    await this.channel.deleteQueue(queue);
  }

  /**
   * Acts as a worker for one request of `queue`: waits (polling) until one is there, answers it
   * with a success whose output is its input (mandatory, confirmed), acks it and returns it;
   * undefined if none came within `timeoutMs`.
   */
  async answerOne(queue: string, timeoutMs: number): Promise<Record<string, unknown> | undefined> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const message = await this.withScratchChannel(async (ch) => {
        const got = await ch.get(queue, { noAck: true });
        return got || undefined;
      }, undefined);
      if (message) {
        const request = JSON.parse(message.content.toString('utf8')) as Record<string, unknown>;
        const result = {
          type: 'workflow.step.result',
          version: 1,
          taskId: request['taskId'],
          attempt: request['attempt'],
          runId: request['runId'],
          step: request['step'],
          status: 'succeeded',
          output: request['input'] ?? null,
          workerId: 'conformance-kit',
        };
        this.channel.publish('', String(request['replyTo']), Buffer.from(JSON.stringify(result)), {
          persistent: true,
          contentType: 'application/json',
          mandatory: true,
        });
        await this.channel.waitForConfirms();
        return request;
      }
      await sleep(100);
    }
    return undefined;
  }

  /**
   * Deletes every queue and exchange whose name starts with `prefix`: the session's step queues,
   * their .dlq/.retry/.dlx, the orchestrator's results and progress queues and events exchange.
   */
  async deleteEverythingUnder(prefix: string): Promise<string[]> {
    const names = async (what: 'list_queues' | 'list_exchanges') =>
      (await rabbitmqctl(what, '-q', '--no-table-headers', 'name'))
        .split('\n')
        .map((s) => s.trim())
        .filter((s) => s.startsWith(prefix));
    const queues = await names('list_queues');
    const exchanges = await names('list_exchanges');
    for (const q of queues) await this.channel.deleteQueue(q);
    for (const x of exchanges) await this.channel.deleteExchange(x);
    return [...queues, ...exchanges];
  }

  // checkQueue on a missing queue closes the channel it ran on: use a throwaway one.
  private async withScratchChannel<T>(fn: (ch: Channel) => Promise<T>, missing: T): Promise<T> {
    const ch = await this.connection.createChannel();
    ch.on('error', () => undefined);
    try {
      return await fn(ch);
    } catch (error) {
      if ((error as { code?: number }).code === 404) return missing;
      throw error;
    } finally {
      await ch.close().catch(() => undefined);
    }
  }
}

/** Connection ids (rabbitmqctl pids) of whoever consumes any of `queues`. */
export async function consumerConnections(queues: readonly string[]): Promise<Set<string>> {
  const wanted = new Set(queues);
  const channels = new Set(
    rows(
      await rabbitmqctl('list_consumers', '-q', '--no-table-headers', 'queue_name', 'channel_pid'),
    )
      .filter(([queue]) => queue !== undefined && wanted.has(queue))
      .map(([, channel]) => channel),
  );
  const connections = new Set<string>();
  for (const [channel, connection] of rows(
    await rabbitmqctl('list_channels', '-q', '--no-table-headers', 'pid', 'connection'),
  ))
    if (channel && connection && channels.has(channel)) connections.add(connection);
  return connections;
}

/** Force-closes these connections, as a broker restart or a network cut would. */
export async function closeConnections(connections: Iterable<string>): Promise<void> {
  await Promise.all(
    [...connections].map((pid) =>
      rabbitmqctl('close_connection', pid, 'conformance kit: forced connection close'),
    ),
  );
}
