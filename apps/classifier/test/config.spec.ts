import path from 'node:path';
import { loadConfig } from '../src/config';
import { SHIPPED_MODEL_DIR } from '../src/paths';

describe('loadConfig', () => {
  it('has local defaults', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(3002);
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.AMQP_URL).toBeUndefined();
    expect(config.MODEL_DIR).toBe(SHIPPED_MODEL_DIR);
    expect(config.CLASSIFY_QUEUE).toBe('classify');
  });
  it('reads and coerces the environment', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      BATCH_MAX_SIZE: '32',
      MODEL_DIR: 'x/y',
    });
    expect(config.PORT).toBe(8080);
    expect(config.BATCH_MAX_SIZE).toBe(32);
    expect(config.MODEL_DIR).toBe(path.resolve('x/y'));
  });
  it('names every bad variable at once', () => {
    let message = '';
    try {
      loadConfig({
        PORT: 'eighty',
        AMQP_URL: 'http://broker',
        BATCH_WAIT_MS: '-1',
        LOG_LEVEL: 'loud',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const name of [
      'PORT="eighty"',
      'AMQP_URL="http://broker"',
      'BATCH_WAIT_MS="-1"',
      'LOG_LEVEL="loud"',
    ]) {
      expect(message).toContain(name);
    }
  });
});
