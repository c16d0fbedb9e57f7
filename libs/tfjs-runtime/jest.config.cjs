module.exports = {
  displayName: 'tfjs-runtime',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  // tfjs-core ships its gradient registrations only as ES modules (dist/register_all_gradients.js);
  // Jest on Node 20 cannot require ESM, so those files are transpiled like our sources.
  transformIgnorePatterns: ['/node_modules/(?!@tensorflow/tfjs-core/dist/(?!tf-core\\.node\\.js))'],
  testTimeout: 60000,
};
