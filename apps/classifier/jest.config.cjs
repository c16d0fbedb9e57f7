module.exports = {
  displayName: 'classifier',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  // @conveyor/t5 imports tfjs-core's gradient registrations, which exist only as ES modules;
  // Jest on Node 20 cannot require ESM, so those files are transpiled like our sources (as in libs/t5).
  transformIgnorePatterns: ['/node_modules/(?!@tensorflow/tfjs-core/dist/(?!tf-core\\.node\\.js))'],
  // Model loading and the real broker are slow on a shared 2-core machine.
  testTimeout: 60000,
};
