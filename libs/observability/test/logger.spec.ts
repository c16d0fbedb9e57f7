import { createLogger, parseLogLevel } from '../src';
import { captureLogs } from './helpers';

describe('createLogger', () => {
  it('writes JSON lines naming the service, with label levels and ISO timestamps', () => {
    const { stream, lines } = captureLogs();
    const logger = createLogger('orders', { destination: stream, env: {} });
    logger.info({ orderId: 7 }, 'order placed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      service: 'orders',
      level: 'info',
      orderId: 7,
      msg: 'order placed',
    });
    expect(String(lines[0]?.['time'])).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('takes its level from LOG_LEVEL, default info', () => {
    const { stream, lines } = captureLogs();
    const warnOnly = createLogger('a', { destination: stream, env: { LOG_LEVEL: 'WARN' } });
    warnOnly.info('hidden');
    warnOnly.warn('shown');
    expect(lines.map((l) => l['msg'])).toEqual(['shown']);
    expect(createLogger('a', { destination: stream, env: {} }).level).toBe('info');
  });

  it("accepts 'silent' for tests", () => {
    const { stream, lines } = captureLogs();
    createLogger('a', { destination: stream, env: { LOG_LEVEL: 'silent' } }).fatal('nothing');
    expect(lines).toEqual([]);
  });

  it('rejects an unknown level, naming the variable and the valid values', () => {
    expect(() => createLogger('a', { env: { LOG_LEVEL: 'verbose' } })).toThrow(
      /LOG_LEVEL="verbose" is not a log level: use one of fatal, error, warn, info, debug, trace, silent/,
    );
    expect(parseLogLevel(undefined)).toBe('info');
  });
});
