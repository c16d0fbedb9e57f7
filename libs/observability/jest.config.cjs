module.exports = {
  displayName: 'observability',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  // Jest's 5 s default is less than a 4 s profile plus a service start on a loaded machine (the
  // CPU-profile test took 4.9 s with 4 CPU hogs, and over 5 s at load 19).
  testTimeout: 60_000,
};
