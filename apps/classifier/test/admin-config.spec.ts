import { adminListenerFrom } from '@conveyor/observability';
import { loadConfig } from '../src/config';

// ADMIN_PORT / ADMIN_HOST (API and classify worker): /metrics and /debug/* on their own listener.
describe('ADMIN_PORT and ADMIN_HOST', () => {
  it('leave everything on PORT when unset', () => {
    expect(adminListenerFrom(loadConfig({}))).toBeUndefined();
  });

  it('give the admin listener, its host following HOST unless set', () => {
    expect(adminListenerFrom(loadConfig({ ADMIN_PORT: '9090' }))).toEqual({
      port: 9090,
      host: undefined,
    });
    expect(adminListenerFrom(loadConfig({ ADMIN_PORT: '9090', ADMIN_HOST: '0.0.0.0' }))).toEqual({
      port: 9090,
      host: '0.0.0.0',
    });
  });

  it('name a bad ADMIN_PORT, and ADMIN_HOST without ADMIN_PORT', () => {
    expect(() => loadConfig({ ADMIN_PORT: 'x' })).toThrow(
      'ADMIN_PORT="x": ADMIN_PORT must be a port number from 0 to 65535',
    );
    expect(() => loadConfig({ ADMIN_HOST: '0.0.0.0' })).toThrow(
      'ADMIN_HOST is set without ADMIN_PORT: set ADMIN_PORT too, or unset ADMIN_HOST',
    );
  });
});
