import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import { Client } from 'pg';
import { checkSecrets, createRunInfra, DEFAULT_INFRA } from '../src/infra';

const vhosts = () =>
  execFileSync('rabbitmqctl', ['-q', 'list_vhosts', '--no-table-headers', 'name'], {
    encoding: 'utf8',
  })
    .split('\n')
    .map((s) => s.trim());

async function databases(): Promise<string[]> {
  const db = new Client({ connectionString: DEFAULT_INFRA.postgresAdminUrl });
  await db.connect();
  try {
    return (await db.query<{ datname: string }>('SELECT datname FROM pg_database')).rows.map(
      (r) => r.datname,
    );
  } finally {
    await db.end();
  }
}

// Against this machine's real RabbitMQ and PostgreSQL: the run's own vhost and databases, and
// the Secrets pointed at them with the manifests' host names kept.
describe('per-run RabbitMQ vhost and PostgreSQL databases', () => {
  it('points the Secrets at them and removes them (with every queue) afterwards', async () => {
    const run = await createRunInfra(`t${randomBytes(3).toString('hex')}`);
    try {
      const secrets = await checkSecrets(
        new Map<string, Record<string, string>>([
          ['conveyor-rabbitmq', { url: 'amqp://conveyor:pw@rabbitmq:5672', username: 'conveyor' }],
          [
            'conveyor-database-urls',
            { orchestrator: 'postgres://conveyor:pw@postgres:5432/orchestrator' },
          ],
        ]),
        run,
      );
      expect(secrets.get('conveyor-rabbitmq')).toEqual({
        url: `amqp://guest:guest@rabbitmq:5672/${encodeURIComponent(run.vhost)}`,
        username: 'conveyor',
      });
      const dbUrl = new URL(secrets.get('conveyor-database-urls')?.['orchestrator'] ?? '');
      expect(dbUrl.host).toBe('postgres:5432');
      expect(vhosts()).toContain(run.vhost);
      expect(await databases()).toContain(dbUrl.pathname.slice(1));

      // A queue declared in the vhost (through the rewritten URL, reached on 127.0.0.1) goes with it.
      const url = (secrets.get('conveyor-rabbitmq')?.['url'] ?? '').replace(
        '@rabbitmq:',
        '@127.0.0.1:',
      );
      const connection = await connect(url);
      const channel = await connection.createChannel();
      await channel.assertQueue('images-check-probe');
      await connection.close();
      expect(await run.queues()).toEqual(['images-check-probe']);
    } finally {
      expect(await run.remove()).toEqual(['images-check-probe']);
    }
    expect(vhosts()).not.toContain(run.vhost);
    expect(
      (await databases()).filter((d) =>
        d.startsWith(`conveyor_check_${run.vhost.split('-').pop()}`),
      ),
    ).toEqual([]);
  });
});
