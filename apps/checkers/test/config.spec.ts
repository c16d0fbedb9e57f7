import { resolve } from 'node:path';
import { ConfigError, loadConfig, loadWorkerConfig } from '../src/config';

describe('loadConfig', () => {
  it('defaults to SQLite under DATA_DIR and the in-process engine pool', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3003);
    expect(config.host).toBe('127.0.0.1');
    expect(config.database).toEqual({
      kind: 'sqlite',
      file: resolve('./var/checkers/checkers.sqlite'),
    });
    expect(config.engine.mode).toBe('pool');
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' }).database.kind).toBe('sqlite');
  });

  it('uses PostgreSQL when DATABASE_URL is set, and the bus when ENGINE_MODE=bus', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u@db:5432/app',
      DATABASE_SCHEMA: 'games',
      ENGINE_MODE: 'bus',
      AMQP_URL: 'amqp://mq',
      PORT: '8080',
      HOST: '0.0.0.0',
    });
    expect(config.database).toEqual({
      kind: 'postgres',
      url: 'postgres://u@db:5432/app',
      schema: 'games',
    });
    expect(config.engine).toEqual({
      mode: 'bus',
      amqpUrl: 'amqp://mq',
      requestQueue: 'checkers.engine-move.requests',
      replyTopic: 'checkers.engine-move.responses',
      queueSlackMs: 5000,
    });
    expect(config.port).toBe(8080);
  });

  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        ENGINE_MODE: 'bus',
        ENGINE_THREADS: '0',
        LOG_LEVEL: 'loud',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'DATABASE_URL', 'AMQP_URL', 'ENGINE_THREADS', 'LOG_LEVEL'])
      expect(message).toContain(name);
    expect(message).toContain('ENGINE_MODE=bus');
  });
});

describe('loadWorkerConfig', () => {
  it('requires AMQP_URL', () => {
    expect(() => loadWorkerConfig({})).toThrow(/AMQP_URL: is required/);
  });

  it('reads the queue names and threads', () => {
    const config = loadWorkerConfig({
      AMQP_URL: 'amqp://mq',
      ENGINE_THREADS: '3',
      ENGINE_REQUEST_QUEUE: 'q1',
    });
    expect(config).toMatchObject({
      amqpUrl: 'amqp://mq',
      threads: 3,
      requestQueue: 'q1',
      port: 3005,
    });
  });
});
