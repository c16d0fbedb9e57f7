/**
 * The other end of the benchmark's broker-hop floor (bench.ts, section e): a bare amqplib process
 * that takes each message from one queue, stamps when it arrived, and publishes it to another —
 * persistent, on a confirm channel, like the bus. No framework, no validation, no database.
 */
import { connect } from 'amqplib';

const [url, inQueue, outQueue] = process.argv.slice(2);
if (!url || !inQueue || !outQueue) {
  console.error('usage: hop-echo <amqp-url> <in-queue> <out-queue>');
  process.exit(2);
}
const now = () => performance.timeOrigin + performance.now();

async function main(url: string, inQueue: string, outQueue: string): Promise<void> {
  const connection = await connect(url, { noDelay: true });
  const channel = await connection.createConfirmChannel();
  await channel.prefetch(64);
  await channel.consume(inQueue, (message) => {
    if (!message) return;
    const body = JSON.parse(message.content.toString()) as { sent: number; arrived?: number };
    body.arrived = now();
    channel.publish(
      '',
      outQueue,
      Buffer.from(JSON.stringify(body)),
      { persistent: true },
      (err) => {
        // At shutdown the pending confirms fail with the closing channel: nothing left to ack.
        if (!err) channel.ack(message);
      },
    );
  });
  console.log('ready');
  process.on('SIGTERM', () => {
    connection.close().finally(() => process.exit(0));
  });
}

main(url, inQueue, outQueue).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
