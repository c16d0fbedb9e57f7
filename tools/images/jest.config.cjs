// client-node 1.x and oauth2-mock-server are ESM-only: compiled to CJS by SWC like in apps/svc-proxy
// (Jest's CJS runtime cannot require() ESM on Node 20).
const ESM_ONLY = [
  '@kubernetes/client-node',
  'openid-client',
  'oauth4webapi',
  'jose',
  'oauth2-mock-server',
  'is-plain-obj',
];

module.exports = {
  displayName: 'images',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  // rabbitmqctl takes a second or two per call on this machine.
  testTimeout: 60_000,
  transform: {
    '^.+\\.(m?js|ts)$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
};
