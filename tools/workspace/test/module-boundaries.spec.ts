import { execFile } from 'node:child_process';
import path from 'node:path';

// Lints in-memory fixtures placed (virtually) inside real projects, so the rule sees the real
// project graph and tags. A rule that lets these through would let the rooms leak into each other.
const workspaceRoot = path.resolve(__dirname, '../../..');

interface LintMessage {
  ruleId: string | null;
  message: string;
}

// The ESLint CLI (not its API) because the flat config is an ES module, which Jest's CommonJS
// sandbox cannot import; this is also exactly what `npm test` runs.
async function boundaryErrors(fileInProject: string, code: string): Promise<string[]> {
  const eslintBin = path.join(workspaceRoot, 'node_modules/eslint/bin/eslint.js');
  const args = [eslintBin, '--format', 'json', '--stdin', '--stdin-filename', fileInProject];
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(process.execPath, args, { cwd: workspaceRoot }, (error, out) => {
      // Exit code 1 means "lint errors found", which is what most cases expect.
      if (error && error.code !== 1) reject(error);
      else resolve(out);
    });
    child.stdin?.end(code);
  });
  const [result] = JSON.parse(stdout) as { messages: LintMessage[] }[];
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === '@nx/enforce-module-boundaries')
    .map((m) => m.message);
}

describe('@nx/enforce-module-boundaries', () => {
  jest.setTimeout(60_000);

  // The rule reads Nx's cached project graph; refresh it so newly added projects and tags count.
  beforeAll(async () => {
    await new Promise<void>((resolve, reject) =>
      execFile(
        process.execPath,
        [path.join(workspaceRoot, 'node_modules/nx/dist/bin/nx.js'), 'show', 'projects'],
        { cwd: workspaceRoot, env: { ...process.env, NX_DAEMON: 'false' } },
        (error) => (error ? reject(error) : resolve()),
      ),
    );
  });

  it('rejects an app importing another app', async () => {
    const errors = await boundaryErrors(
      'apps/checkers/src/boundary-fixture.ts',
      "import { start } from '../../orchestrator/src/main';\nexport const s = start;\n",
    );
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toMatch(/app|relative/i);
  });

  it('rejects a library importing an app', async () => {
    const errors = await boundaryErrors(
      'libs/bus/src/boundary-fixture.ts',
      "import { start } from '../../../apps/orchestrator/src/main';\nexport const s = start;\n",
    );
    expect(errors.length).toBeGreaterThan(0);
  });

  it('rejects transport and ML packages in a domain library', async () => {
    const errors = await boundaryErrors(
      'libs/draughts/src/boundary-fixture.ts',
      "import amqp from 'amqplib';\nimport * as tf from '@tensorflow/tfjs-core';\nexport const x = [amqp, tf];\n",
    );
    expect(errors.filter((e) => /amqplib|tensorflow/.test(e))).toHaveLength(2);
  });

  it('rejects a domain library importing a transport library', async () => {
    const errors = await boundaryErrors(
      'libs/draughts/src/boundary-fixture.ts',
      "import { defineQueue } from '@conveyor/bus';\nexport const q = defineQueue;\n",
    );
    expect(errors.join('\n')).toMatch(/type:domain|tags/);
  });

  it('rejects one service scope reaching into another service’s library', async () => {
    const errors = await boundaryErrors(
      'apps/classifier/src/boundary-fixture.ts',
      "import * as d from '@conveyor/draughts';\nexport const x = d;\n",
    );
    expect(errors.join('\n')).toMatch(/scope:classifier|tags/);
  });

  it('allows an app to import a shared library', async () => {
    const errors = await boundaryErrors(
      'apps/orchestrator/src/boundary-fixture.ts',
      "import { defineQueue } from '@conveyor/bus';\nexport const q = defineQueue;\n",
    );
    expect(errors).toEqual([]);
  });
});
