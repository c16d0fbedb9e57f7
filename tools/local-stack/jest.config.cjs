module.exports = {
  displayName: 'local-stack',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  // The end-to-end test starts the whole stack (model load, engine bundles, RabbitMQ, PostgreSQL)
  // in a child process on a shared 2-core machine.
  testTimeout: 240_000,
  // Each end-to-end file runs a whole stack: one at a time, or two would fight for the cores.
  maxWorkers: 1,
};
