module.exports = {
  displayName: 'checkers',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  // Servers, thread pools, a browser: generous per-test time on a shared 2-core machine.
  testTimeout: 60_000,
};
