import { join } from 'node:path';
import { settingsFromEnv, SettingsError, WORKSPACE_ROOT } from './settings';

const problems = (env: Record<string, string>): string[] => {
  try {
    settingsFromEnv(env);
  } catch (error) {
    if (error instanceof SettingsError) return [...error.problems];
    throw error;
  }
  throw new Error('expected the settings to be refused');
};

describe('local stack settings', () => {
  it('defaults to the embedded bus, SQLite, the conventional ports and quiet services', () => {
    const settings = settingsFromEnv({});
    expect(settings).toMatchObject({
      host: '127.0.0.1',
      ports: {
        orchestrator: 3001,
        classifier: 3002,
        checkers: 3003,
        svcProxy: 3004,
        classifierWorker: 3006,
        devIdentityProvider: 3007,
      },
      amqpUrl: undefined,
      databaseUrl: undefined,
      logLevel: 'warn',
      queuePrefix: '',
      stepQueueType: 'classic',
      devEmail: 'developer@conveyor.local',
      workflowsDir: join(WORKSPACE_ROOT, 'examples/document-processing/workflows'),
    });
    expect(settings.dataDir).toBe(join(process.cwd(), 'var/local-stack'));
  });

  it('uses RabbitMQ and PostgreSQL when their URLs are set; empty values count as unset', () => {
    const settings = settingsFromEnv({
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      DATABASE_URL: 'postgres://postgres@127.0.0.1/test',
      DATABASE_SCHEMA: 'dev',
      MODEL_DIR: '',
    });
    expect(settings).toMatchObject({
      amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
      databaseUrl: 'postgres://postgres@127.0.0.1/test',
      databaseSchema: 'dev',
    });
    expect(settingsFromEnv({ STEP_QUEUE_TYPE: 'quorum' }).stepQueueType).toBe('quorum');
    expect(settingsFromEnv({ STEP_QUEUE_TYPE: '' }).stepQueueType).toBe('classic');
  });

  it('reports every bad variable at once, with what to do', () => {
    expect(
      problems({
        AMQP_URL: 'http://rabbit',
        CHECKERS_PORT: '99999',
        LOG_LEVEL: 'loud',
        DATABASE_SCHEMA: 'Dev',
        STEP_QUEUE_TYPE: 'stream',
      }),
    ).toEqual(
      expect.arrayContaining([
        expect.stringContaining('AMQP_URL must start with amqp:// or amqps://'),
        'CHECKERS_PORT="99999" must be a port number from 1 to 65535',
        expect.stringContaining('LOG_LEVEL must be one of'),
        expect.stringContaining('DATABASE_SCHEMA must be a lower-case PostgreSQL identifier'),
        expect.stringContaining('STEP_QUEUE_TYPE must be classic (default) or quorum'),
      ]),
    );
  });

  it('listens where HOST says and reaches wildcard addresses through loopback', () => {
    expect(settingsFromEnv({ HOST: '0.0.0.0' })).toMatchObject({
      host: '0.0.0.0',
      reachableHost: '127.0.0.1',
    });
    expect(settingsFromEnv({ HOST: '127.0.0.2' })).toMatchObject({
      host: '127.0.0.2',
      reachableHost: '127.0.0.2',
    });
    expect(problems({ HOST: 'localhost' })).toEqual([
      expect.stringContaining('HOST must be an IP address'),
    ]);
  });

  it('refuses two services on one port and a schema without PostgreSQL', () => {
    expect(problems({ CLASSIFIER_PORT: '3001', DATABASE_SCHEMA: 'dev' })).toEqual([
      'classifier and orchestrator both want port 3001; give each service its own',
      'DATABASE_SCHEMA needs DATABASE_URL (SQLite has no schemas)',
    ]);
  });
});
