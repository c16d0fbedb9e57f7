module.exports = {
  displayName: 'conformance',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  // One orchestrator and the workers under test run as child processes on a shared 2-core machine.
  testTimeout: 240_000,
  maxWorkers: 1,
};
