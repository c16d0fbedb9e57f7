import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A copy of the workflow directory with every worker queue renamed `<prefix><queue>`, so a stack
 * sharing a RabbitMQ broker with other stacks (or test runs) only talks to its own workers.
 * Without a prefix the original directory is used as is.
 */
export function prefixedWorkflowsDir(source: string, prefix: string, target: string): string {
  if (prefix === '') return source;
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  cpSync(source, target, { recursive: true });
  for (const file of readdirSync(target).filter((f) => /\.ya?ml$/.test(f))) {
    const path = join(target, file);
    let text = readFileSync(path, 'utf8').replace(
      /^(\s*queue:\s*)([A-Za-z0-9_.:-]+)\s*$/gm,
      `$1${prefix}$2`,
    );
    // queues.yaml lists the queue names as keys under `queues:`.
    if (file === 'queues.yaml')
      text = text.replace(/^( {2})([A-Za-z0-9_.:-]+):\s*$/gm, `$1${prefix}$2:`);
    writeFileSync(path, text);
  }
  return target;
}
