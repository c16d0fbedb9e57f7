// Workspace ESLint flat config. The module-boundary rule is what keeps the rooms apart:
// apps import libs (never each other), libs never import apps, and domain libs stay free of
// transport and ML dependencies so they run unchanged in the browser and in worker threads.
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';

export const TRANSPORT_AND_ML = [
  'amqplib',
  'express',
  'pg',
  'better-sqlite3',
  'knex',
  'http-proxy',
  '@kubernetes/client-node',
  '@tensorflow/*',
  'pino',
  'prom-client',
];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  prettier,
  { ignores: ['**/dist', '**/node_modules', '**/coverage', '**/.nx', 'tools/lint-fixtures/**'] },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs', '**/*.cjs'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            // Apps may use any library, never another app.
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: [
                'type:contracts',
                'type:transport',
                'type:util',
                'type:domain',
                'type:ml',
                'type:sdk',
              ],
            },
            // Contracts are the leaf everyone shares: no dependencies on other projects.
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:contracts', 'type:util'] },
            {
              sourceTag: 'type:transport',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:util', 'type:transport'],
            },
            {
              sourceTag: 'type:sdk',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:util', 'type:transport'],
            },
            {
              sourceTag: 'type:ml',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:util', 'type:ml', 'type:domain'],
            },
            // Domain libraries are pure: no transport, persistence, logging or ML packages.
            {
              sourceTag: 'type:domain',
              onlyDependOnLibsWithTags: ['type:domain', 'type:contracts'],
              bannedExternalImports: TRANSPORT_AND_ML,
            },
            // Scopes: a service's private libs are not for other services.
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            {
              sourceTag: 'scope:orchestrator',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:orchestrator'],
            },
            {
              sourceTag: 'scope:classifier',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:classifier'],
            },
            {
              sourceTag: 'scope:checkers',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:checkers'],
            },
            {
              sourceTag: 'scope:svc-proxy',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:svc-proxy'],
            },
            { sourceTag: 'scope:tools', onlyDependOnLibsWithTags: ['*'] },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
];
