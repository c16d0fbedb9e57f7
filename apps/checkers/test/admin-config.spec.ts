import { loadConfig, loadWorkerConfig } from '../src/config';

// ADMIN_PORT / ADMIN_HOST: /metrics and /debug/* on their own listener (libs/observability).
describe.each([
  ['server', (env: NodeJS.ProcessEnv) => loadConfig(env)],
  [
    'engine worker',
    (env: NodeJS.ProcessEnv) => loadWorkerConfig({ AMQP_URL: 'amqp://mq', ...env }),
  ],
])('%s: ADMIN_PORT and ADMIN_HOST', (_what, load) => {
  it('leave everything on PORT when unset or empty', () => {
    expect(load({}).admin).toBeUndefined();
    expect(load({ ADMIN_PORT: '', ADMIN_HOST: '' }).admin).toBeUndefined();
  });

  it('give the admin listener, its host following HOST unless set', () => {
    expect(load({ ADMIN_PORT: '9090' }).admin).toEqual({ port: 9090, host: undefined });
    expect(load({ ADMIN_PORT: '9090', ADMIN_HOST: '0.0.0.0' }).admin).toEqual({
      port: 9090,
      host: '0.0.0.0',
    });
  });

  it('name a bad ADMIN_PORT, and ADMIN_HOST without ADMIN_PORT', () => {
    expect(() => load({ ADMIN_PORT: 'admin' })).toThrow(/ADMIN_PORT/);
    expect(() => load({ ADMIN_PORT: '70000' })).toThrow(/ADMIN_PORT/);
    expect(() => load({ ADMIN_HOST: '0.0.0.0' })).toThrow(
      'ADMIN_HOST: is set without ADMIN_PORT: set ADMIN_PORT too, or unset ADMIN_HOST',
    );
  });
});
