import { ConfigError, configFromEnv } from '../src/config';

describe('configFromEnv', () => {
  it('uses the local defaults: embedded bus, SQLite under DATA_DIR, port 3001', () => {
    const config = configFromEnv({});
    expect(config).toMatchObject({
      port: 3001,
      host: '127.0.0.1',
      amqpUrl: undefined,
      stepEvents: 'steps',
      stepQueueType: 'classic',
      resultsQueue: 'conveyor.step-results',
    });
    expect(config.store).toEqual({
      kind: 'sqlite',
      file: expect.stringMatching(/var\/orchestrator\/orchestrator\.sqlite$/),
    });
  });

  it('selects PostgreSQL and RabbitMQ from their URLs', () => {
    const config = configFromEnv({
      DATABASE_URL: 'postgres://u@db:5432/x',
      DATABASE_SCHEMA: 'wf',
      AMQP_URL: 'amqp://mq',
      PORT: '8080',
      HOST: '0.0.0.0',
    });
    expect(config.store).toEqual({ kind: 'postgres', url: 'postgres://u@db:5432/x', schema: 'wf' });
    expect(config).toMatchObject({ amqpUrl: 'amqp://mq', port: 8080, host: '0.0.0.0' });
  });

  it('reads the step queue type', () => {
    expect(configFromEnv({ STEP_QUEUE_TYPE: 'quorum' }).stepQueueType).toBe('quorum');
    expect(configFromEnv({ STEP_QUEUE_TYPE: 'classic' }).stepQueueType).toBe('classic');
  });

  it('reads how long a chain link may wait to be recorded (10 ms unless set)', () => {
    expect(configFromEnv({}).chainedRecordWaitMs).toBe(10);
    expect(configFromEnv({ CHAIN_RECORD_WAIT_MS: '0' }).chainedRecordWaitMs).toBe(0);
    expect(() => configFromEnv({ CHAIN_RECORD_WAIT_MS: '5000' })).toThrow(/CHAIN_RECORD_WAIT_MS/);
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      configFromEnv({
        PORT: 'eighty',
        AMQP_URL: 'http://mq',
        DATABASE_URL: 'mysql://x',
        STEP_EVENTS: 'some',
        LOG_LEVEL: 'loud',
        STEP_QUEUE_TYPE: 'stream',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of [
      'PORT',
      'AMQP_URL',
      'DATABASE_URL',
      'STEP_EVENTS',
      'LOG_LEVEL',
      'STEP_QUEUE_TYPE',
    ])
      expect(problems).toContain(name);
    expect((error as ConfigError).problems).toHaveLength(6);
  });
});

describe('configFromEnv: HTTP limits', () => {
  it('defaults to a 4 MiB body and a 1 MiB run input, and reads both variables', () => {
    expect(configFromEnv({}).httpLimits).toEqual({ bodyBytes: 4194304, runInputBytes: 1048576 });
    expect(
      configFromEnv({ HTTP_BODY_LIMIT_BYTES: '20000000', RUN_INPUT_LIMIT_BYTES: '10000000' })
        .httpLimits,
    ).toEqual({ bodyBytes: 20_000_000, runInputBytes: 10_000_000 });
  });

  it('refuses a run input limit that the body limit would make unreachable', () => {
    expect(() => configFromEnv({ RUN_INPUT_LIMIT_BYTES: '8388608' })).toThrow(
      /RUN_INPUT_LIMIT_BYTES \(8 MiB\) must be below HTTP_BODY_LIMIT_BYTES \(4 MiB\); raise HTTP_BODY_LIMIT_BYTES too/,
    );
    expect(() => configFromEnv({ HTTP_BODY_LIMIT_BYTES: 'lots' })).toThrow(
      /HTTP_BODY_LIMIT_BYTES must be an integer/,
    );
  });
});
