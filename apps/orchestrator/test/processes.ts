import { join } from 'node:path';
import { spawnTs as spawnTsProcess, type LoggedProcess } from '@conveyor/test-support';

/** The repository root. */
export const ROOT = join(__dirname, '..', '..', '..');
const TSCONFIG = join(ROOT, 'apps', 'orchestrator', 'tsconfig.json');

export type Child = LoggedProcess;

/** Runs a TypeScript entry point in its own process (killed with SIGKILL in fault tests). */
export function spawnTs(entry: string, env: Record<string, string>): Child {
  return spawnTsProcess(entry, { cwd: ROOT, tsconfig: TSCONFIG, env });
}

export const SLOW_WORKER = join(__dirname, 'fixtures', 'slow-worker.ts');
