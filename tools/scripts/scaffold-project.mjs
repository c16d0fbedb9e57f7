#!/usr/bin/env node
// Creates the files every project here has: project.json (lint/typecheck/test targets),
// tsconfig.json and jest.config.cjs, so new projects follow one pattern.
// Usage: node tools/scripts/scaffold-project.mjs <apps|libs>/<name> --tags scope:x,type:y
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const [root, flag, tagList] = process.argv.slice(2);
if (!root || !/^(apps|libs|tools)\/[a-z0-9-]+$/.test(root) || flag !== '--tags' || !tagList) {
  console.error('usage: scaffold-project.mjs <apps|libs|tools>/<name> --tags scope:x,type:y');
  process.exit(2);
}
const name = root.split('/')[1];
const up = relative(root, '.') || '.';
const isApp = root.startsWith('apps/');
mkdirSync(join(root, 'src'), { recursive: true });

const write = (file, content) => {
  const p = join(root, file);
  if (existsSync(p)) return console.log(`kept ${p}`);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content, null, 2) + '\n');
  console.log(`wrote ${p}`);
};

write('project.json', {
  name,
  $schema: `${up}/node_modules/nx/schemas/project-schema.json`,
  sourceRoot: `${root}/src`,
  projectType: isApp ? 'application' : 'library',
  tags: tagList.split(','),
  targets: {
    lint: {
      executor: 'nx:run-commands',
      options: { command: `eslint --max-warnings=0 ${root}` },
    },
    typecheck: {
      executor: 'nx:run-commands',
      options: { command: `tsc -p ${root}/tsconfig.json --noEmit` },
    },
    test: {
      executor: '@nx/jest:jest',
      options: { jestConfig: `${root}/jest.config.cjs`, passWithNoTests: false },
    },
  },
});
write('tsconfig.json', {
  extends: `${up}/tsconfig.base.json`,
  compilerOptions: { noEmit: true },
  include: ['src/**/*.ts', 'test/**/*.ts'],
});
write(
  'jest.config.cjs',
  `module.exports = {
  displayName: '${name}',
  preset: '${up}/jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
};
`,
);
if (!isApp) {
  const base = JSON.parse(readFileSync('tsconfig.base.json', 'utf8'));
  const alias = `@conveyor/${name}`;
  if (!base.compilerOptions.paths[alias]) {
    base.compilerOptions.paths[alias] = [`${root}/src/index.ts`];
    writeFileSync('tsconfig.base.json', JSON.stringify(base, null, 2) + '\n');
    console.log(`added path alias ${alias}`);
  }
}
