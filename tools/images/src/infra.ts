import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'pg';
import type { SecretValues } from './manifests';

const execFileAsync = promisify(execFile);

/** This machine's servers, which the manifests' `rabbitmq` and `postgres` Services stand for. */
export interface HostInfra {
  /** Admin access: the vhost and the databases are made and removed through these. */
  readonly amqpUser: string;
  readonly amqpPassword: string;
  readonly postgresAdminUrl: string;
}

export const DEFAULT_INFRA: HostInfra = {
  amqpUser: process.env['IMAGES_AMQP_USER'] ?? 'guest',
  amqpPassword: process.env['IMAGES_AMQP_PASSWORD'] ?? 'guest',
  postgresAdminUrl: process.env['IMAGES_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
};

async function rabbitmqctl(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('rabbitmqctl', ['-q', ...args]);
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`rabbitmqctl ${args[0]} failed: ${(e.stderr || e.message).trim()}`);
  }
}

/**
 * A RabbitMQ virtual host and PostgreSQL databases of this run alone: every queue the images
 * declare lives in the vhost, so deleting it removes each of them, and nothing collides with
 * other users of the broker.
 */
export interface RunInfra {
  readonly vhost: string;
  readonly databases: Map<string, string>;
  /** A database for `key` (created on first use). */
  database(key: string): Promise<string>;
  queues(): Promise<string[]>;
  /** Deletes the vhost (and so its queues) and drops the databases; returns the queues it removed. */
  remove(): Promise<string[]>;
}

export async function createRunInfra(
  runId: string,
  infra: HostInfra = DEFAULT_INFRA,
): Promise<RunInfra> {
  const vhost = `conveyor-check-${runId}`;
  await rabbitmqctl(['add_vhost', vhost]);
  await rabbitmqctl(['set_permissions', '-p', vhost, infra.amqpUser, '.*', '.*', '.*']);
  const databases = new Map<string, string>();
  const admin = async <T>(fn: (c: Client) => Promise<T>) => {
    const client = new Client({ connectionString: infra.postgresAdminUrl });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  const queues = async () =>
    (await rabbitmqctl(['list_queues', '-p', vhost, '--no-table-headers', 'name']))
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean)
      .sort();
  return {
    vhost,
    databases,
    async database(key) {
      const existing = databases.get(key);
      if (existing) return existing;
      const name = `conveyor_check_${runId}_${key.replace(/[^a-z0-9]/gi, '_')}`.toLowerCase();
      await admin((c) => c.query(`CREATE DATABASE "${name}"`));
      databases.set(key, name);
      return name;
    },
    queues,
    async remove() {
      const removed = await queues().catch(() => []);
      await rabbitmqctl(['delete_vhost', vhost]);
      for (const name of databases.values())
        await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
      return removed;
    },
  };
}

/**
 * The Secrets as this check supplies them, the way prod's are created out of band: every
 * `amqp://` value points at this run's vhost as the host's admin user, every `postgres://` value
 * at a database of this run; the host names (`rabbitmq`, `postgres`) and ports stay as the
 * manifests say, resolved by `--add-host`. Other values are the rendered ones.
 */
export async function checkSecrets(
  rendered: SecretValues,
  run: RunInfra,
  infra: HostInfra = DEFAULT_INFRA,
): Promise<Map<string, Record<string, string>>> {
  const result = new Map<string, Record<string, string>>();
  const admin = new URL(infra.postgresAdminUrl);
  for (const [secret, data] of rendered) {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(data)) {
      if (/^amqps?:\/\//.test(value)) {
        const url = new URL(value);
        url.username = encodeURIComponent(infra.amqpUser);
        url.password = encodeURIComponent(infra.amqpPassword);
        url.pathname = `/${encodeURIComponent(run.vhost)}`;
        out[key] = url.href;
      } else if (/^postgres(ql)?:\/\//.test(value)) {
        const url = new URL(value);
        url.username = admin.username;
        url.password = admin.password;
        url.pathname = `/${await run.database(`${secret}_${key}`)}`;
        out[key] = url.href;
      } else out[key] = value;
    }
    result.set(secret, out);
  }
  return result;
}
