module.exports = {
  displayName: 'draughts-learning',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  // tfjs-core ships its gradient registrations only as ES modules; Jest on Node 20 cannot
  // require ESM, so those files are transpiled like our sources (as in libs/tfjs-runtime).
  transformIgnorePatterns: ['/node_modules/(?!@tensorflow/tfjs-core/dist/(?!tf-core\\.node\\.js))'],
  testTimeout: 120000,
};
