module.exports = {
  displayName: 'checkers',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  // The engine's neural tie-break loads TensorFlow.js; tfjs-core ships its gradient registrations
  // only as ES modules, which Jest on Node 20 cannot require: transpiled like our sources (as in
  // libs/tfjs-runtime and libs/draughts-learning).
  transformIgnorePatterns: ['/node_modules/(?!@tensorflow/tfjs-core/dist/(?!tf-core\\.node\\.js))'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  // Servers, thread pools, a browser: generous per-test time on a shared 2-core machine.
  testTimeout: 60_000,
};
