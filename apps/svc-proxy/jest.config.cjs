// ESM-only dependencies (client-node 1.x and its OIDC deps, oauth2-mock-server 8.x, parse5 8.x) are compiled to CJS
// by the preset's SWC transform: Jest's CJS runtime cannot require() ESM on Node 20.
const ESM_ONLY = [
  '@kubernetes/client-node',
  'openid-client',
  'oauth4webapi',
  'jose',
  'oauth2-mock-server',
  'is-plain-obj',
  'parse5',
  'parse5-html-rewriting-stream',
  'parse5-sax-parser',
  'entities',
];

module.exports = {
  displayName: 'svc-proxy',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  transform: {
    '^.+\\.(m?js|ts)$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
};
