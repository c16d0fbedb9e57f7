module.exports = {
  displayName: 'test-support',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  // Child processes: starting node alone can take seconds on a loaded 2-core machine.
  testTimeout: 60_000,
};
