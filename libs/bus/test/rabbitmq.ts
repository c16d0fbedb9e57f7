import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import pino from 'pino';
import { createBus, type Bus, type CreateBusOptions } from '../src';
import { runId } from './helpers';

const exec = promisify(execFile);

export const AMQP_URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Names of this run's queues and exchanges start with this, so cleanup touches nothing else. */
export const prefix = `test.bus.${runId}`;

async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await exec('rabbitmqctl', args, { timeout: 30_000 });
  return stdout;
}

/** Connections whose connection_name starts with `namePrefix` (ours only, never others'). */
export async function listOwnConnections(
  namePrefix: string,
): Promise<{ pid: string; name: string }[]> {
  const out = await rabbitmqctl(
    'list_connections',
    '-q',
    '--no-table-headers',
    'pid',
    'client_properties',
  );
  const found: { pid: string; name: string }[] = [];
  for (const line of out.split('\n')) {
    const [pid, props] = line.split('\t');
    const match = props?.match(/\{"connection_name","([^"]*)"\}/);
    if (pid && match?.[1]?.startsWith(namePrefix)) found.push({ pid, name: match[1] });
  }
  return found;
}

/** Force-closes the connections we own whose connection_name starts with `namePrefix`. */
export async function closeOwnConnections(
  namePrefix: string,
  reason = 'fault test',
): Promise<number> {
  const own = await listOwnConnections(namePrefix);
  for (const c of own) await rabbitmqctl('close_connection', c.pid, reason).catch(() => undefined);
  return own.length;
}

/** Deletes every queue and exchange of this run (by name prefix). */
export async function deleteRunTopology(): Promise<void> {
  const queues = (await rabbitmqctl('list_queues', '-q', '--no-table-headers', 'name')).split('\n');
  const exchanges = (await rabbitmqctl('list_exchanges', '-q', '--no-table-headers', 'name')).split(
    '\n',
  );
  const conn = await connect(AMQP_URL, {
    clientProperties: { connection_name: `${prefix}-cleanup` },
  });
  try {
    const ch = await conn.createChannel();
    for (const q of queues.map((s) => s.trim()).filter((s) => s.startsWith(prefix)))
      await ch.deleteQueue(q);
    for (const x of exchanges.map((s) => s.trim()).filter((s) => s.startsWith(prefix)))
      await ch.deleteExchange(x);
    await ch.close();
  } finally {
    await conn.close();
  }
}

/** Publishes bytes as a foreign producer would: no validation, no bus headers; confirmed. */
export async function publishRaw(
  queue: string,
  body: Buffer,
  headers: Record<string, unknown> = {},
): Promise<void> {
  const conn = await connect(AMQP_URL, { clientProperties: { connection_name: `${prefix}-raw` } });
  try {
    const ch = await conn.createConfirmChannel();
    ch.sendToQueue(queue, body, { headers, persistent: true });
    await ch.waitForConfirms();
    await ch.close();
  } finally {
    await conn.close();
  }
}

let counter = 0;

/** A connection name unique to this run (the bus appends /publish and /consume). */
export function connectionName(role: string): string {
  counter += 1;
  return `${prefix}-${role}-${counter}`;
}

/** Consumers attached to a queue, as the broker sees them (to catch stacked duplicates). */
export async function consumerCount(queue: string): Promise<number> {
  const out = await rabbitmqctl('list_queues', '-q', '--no-table-headers', 'name', 'consumers');
  for (const line of out.split('\n')) {
    const [name, consumers] = line.split('\t');
    if (name === queue) return Number(consumers);
  }
  throw new Error(`queue ${queue} not found`);
}

/** Messages in a queue, ready or delivered and not yet acked, as the broker sees them. */
export async function messageCount(queue: string): Promise<number> {
  const out = await rabbitmqctl('list_queues', '-q', '--no-table-headers', 'name', 'messages');
  for (const line of out.split('\n')) {
    const [name, messages] = line.split('\t');
    if (name === queue) return Number(messages);
  }
  throw new Error(`queue ${queue} not found`);
}

export async function makeAmqpBus(
  role: string,
  options: Partial<CreateBusOptions> = {},
): Promise<Bus> {
  return createBus({
    url: AMQP_URL,
    connectionName: connectionName(role),
    logger: pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }),
    reconnect: { initialDelayMs: 50, maxDelayMs: 1000 },
    ...options,
  });
}
