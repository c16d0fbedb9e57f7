/**
 * A worker that breaks the protocol on purpose, so that the kit's test shows its checks fail:
 * it echoes on every queue (no fatal errors), heartbeats once instead of periodically, acks and
 * drops what it cannot parse (§3.2 says reject), continues chains without `mandatory` (§7), and
 * exits when its connection closes instead of reconnecting.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { ROLES } from '../src/contract';

const prefix = process.env['CONFORMANCE_PREFIX'];
if (!prefix) throw new Error('CONFORMANCE_PREFIX is required');

async function main(prefix: string): Promise<void> {
  const connection = await connect(process.env['AMQP_URL'] ?? 'amqp://127.0.0.1');
  connection.on('close', () => process.exit(3));
  const channel = await connection.createConfirmChannel();
  await channel.prefetch(8);
  const send = (queue: string, body: unknown) =>
    channel.sendToQueue(queue, Buffer.from(JSON.stringify(body)), {
      persistent: true,
      contentType: 'application/json',
    });
  for (const role of ROLES) {
    await channel.consume(`${prefix}.${role}`, (message) => {
      if (!message) return;
      let request: Record<string, unknown>;
      try {
        request = JSON.parse(message.content.toString()) as Record<string, unknown>;
      } catch {
        channel.ack(message); // the bug under test: dropped
        return;
      }
      const reply = () => {
        const result = {
          type: 'workflow.step.result',
          version: 1,
          taskId: request['taskId'],
          attempt: request['attempt'],
          runId: request['runId'],
          step: request['step'],
          status: 'succeeded',
          output: request['input'] ?? null,
        };
        const [link, ...rest] = (request['chain'] ?? []) as {
          step: string;
          queue: string;
          timeoutMs: number;
          input: { from: string; value?: unknown };
        }[];
        if (link) {
          // Continued without mandatory: to a missing queue it is confirmed and dropped.
          const taskId = randomUUID();
          send(link.queue, {
            ...request,
            taskId,
            attempt: 1,
            step: link.step,
            queue: link.queue,
            timeoutMs: link.timeoutMs,
            deadline: new Date(Date.now() + link.timeoutMs).toISOString(),
            input: link.input.from === 'output' ? result.output : link.input.value,
            idempotencyKey: `${String(request['runId'])}:${link.step}`,
            chain: rest.length > 0 ? rest : undefined,
          });
          send(String(request['replyTo']), { ...result, continuedAs: taskId });
        } else send(String(request['replyTo']), result);
        channel.ack(message);
      };
      const input = request['input'] as { ms?: number } | null;
      if (role !== 'slow' || typeof input?.ms !== 'number') return reply();
      // One heartbeat at the start, none after: the deadline is not kept moving.
      send(String(request['progressTo']), {
        type: 'workflow.step.progress',
        version: 1,
        taskId: request['taskId'],
        attempt: request['attempt'],
        runId: request['runId'],
        step: request['step'],
        at: new Date().toISOString(),
        progress: 0,
      });
      setTimeout(reply, input.ms);
    });
  }
}

main(prefix).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
