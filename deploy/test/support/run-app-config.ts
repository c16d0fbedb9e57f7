import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { DEPLOY_DIR, WORKSPACE_ROOT } from '../../src/paths';

export interface LoaderOutcome {
  ok: boolean;
  error?: string;
  result?: Record<string, unknown>;
}

/** Runs an app's own config loader (load-app-config.ts) on `env` in a child process (tsx). */
export function runLoader(
  module: string,
  exportName: string,
  env: Record<string, string>,
): LoaderOutcome {
  const output = execFileSync(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'load-app-config.ts')],
    {
      cwd: WORKSPACE_ROOT,
      input: JSON.stringify({ module, exportName, env }),
      encoding: 'utf8',
      env: { ...process.env, TSX_TSCONFIG_PATH: path.join(DEPLOY_DIR, 'tsconfig.json') },
      timeout: 60_000,
    },
  );
  return JSON.parse(output.trim().split('\n').pop() as string) as LoaderOutcome;
}
