import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { AMQP_URL, startSystem, unique } from './harness';

const exec = promisify(execFile);

/** Every queue/exchange/connection of one test file starts with this, so cleanup touches nothing else. */
export const runPrefix = (file: string) =>
  `orch-test-${file}-${process.pid}-${Date.now().toString(36)}`;

async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await exec('rabbitmqctl', args, { timeout: 30_000 });
  return stdout;
}

/** Force-closes only connections whose connection_name starts with `namePrefix`. */
export async function closeOwnConnections(namePrefix: string): Promise<number> {
  const out = await rabbitmqctl(
    'list_connections',
    '-q',
    '--no-table-headers',
    'pid',
    'client_properties',
  );
  const pids: string[] = [];
  for (const line of out.split('\n')) {
    const [pid, props] = line.split('\t');
    const name = props?.match(/\{"connection_name","([^"]*)"\}/)?.[1];
    if (pid && name?.startsWith(namePrefix)) pids.push(pid);
  }
  // rabbitmqctl takes ~2 s per call (it boots an Erlang node): close them all at once.
  await Promise.all(
    pids.map((pid) =>
      rabbitmqctl('close_connection', pid, 'orchestrator fault test').catch(() => undefined),
    ),
  );
  return pids.length;
}

/** Names of the broker's queues that start with `prefix` (what a test left behind). */
export async function queuesUnder(prefix: string): Promise<string[]> {
  return (await rabbitmqctl('list_queues', '-q', '--no-table-headers', 'name'))
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s.startsWith(prefix));
}

export async function deleteTopology(prefix: string): Promise<void> {
  const queues = (await rabbitmqctl('list_queues', '-q', '--no-table-headers', 'name'))
    .split('\n')
    .map((s) => s.trim());
  const exchanges = (await rabbitmqctl('list_exchanges', '-q', '--no-table-headers', 'name'))
    .split('\n')
    .map((s) => s.trim());
  const conn = await connect(AMQP_URL, {
    clientProperties: { connection_name: `${prefix}-cleanup` },
  });
  try {
    const ch = await conn.createChannel();
    for (const q of queues.filter((s) => s.startsWith(prefix))) await ch.deleteQueue(q);
    for (const x of exchanges.filter((s) => s.startsWith(prefix))) await ch.deleteExchange(x);
    await ch.close();
  } finally {
    await conn.close();
  }
}

/** Publishes bytes as a foreign (buggy) producer would: no validation; confirmed. */
export async function publishRaw(prefix: string, queue: string, body: Buffer): Promise<void> {
  const conn = await connect(AMQP_URL, { clientProperties: { connection_name: `${prefix}-raw` } });
  try {
    const ch = await conn.createConfirmChannel();
    ch.sendToQueue(queue, body, { persistent: true, contentType: 'application/json' });
    await ch.waitForConfirms();
    await ch.close();
  } finally {
    await conn.close();
  }
}

/**
 * A test file's systems on the real broker: `name` gives queue names under the file's prefix,
 * `startOnBroker` is startSystem on RabbitMQ with the orchestrator's own queues named that way
 * too, and `cleanup` (for afterAll) deletes everything under `prefix`.
 */
export function onBroker(file: string) {
  const prefix = runPrefix(file);
  const name = (what: string) => unique(`${prefix}-${what}`);
  const startOnBroker = (options: Omit<Parameters<typeof startSystem>[0], 'amqpUrl'>) =>
    startSystem({
      ...options,
      amqpUrl: AMQP_URL,
      config: {
        resultsQueue: name('results'),
        progressQueue: name('progress'),
        eventsExchange: name('events'),
        ...options.config,
      },
    });
  return { prefix, name, startOnBroker, cleanup: () => deleteTopology(prefix) };
}
