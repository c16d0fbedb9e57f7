import { mkdirSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { renderedText, validateOverlay } from './overlays';
import { OVERLAYS, RENDERED_DIR, renderedFile } from './paths';

/** Formats with the workspace's Prettier so `npm run format:check` stays clean (loaded lazily: ESM-only). */
async function formatted(overlay: string): Promise<string> {
  const prettier = await import('prettier');
  return prettier.format(renderedText(overlay), {
    parser: 'yaml',
    singleQuote: true,
    printWidth: 100,
  });
}

const program = new Command('deploy').description(
  'Render and check the Kubernetes overlays offline',
);

program
  .command('render <overlay>')
  .description('print the rendered manifests of deploy/overlays/<overlay>')
  .action(async (overlay: string) => {
    process.stdout.write(await formatted(overlay));
  });

program
  .command('render-all')
  .description('write deploy/rendered/<overlay>.yaml for every overlay')
  .action(async () => {
    mkdirSync(RENDERED_DIR, { recursive: true });
    for (const overlay of Object.keys(OVERLAYS)) {
      writeFileSync(renderedFile(overlay), await formatted(overlay));
      console.log(`wrote ${renderedFile(overlay)}`);
    }
  });

program
  .command('check')
  .description('validate every overlay: Kubernetes schemas, references, Conveyor conventions')
  .action(() => {
    let failed = false;
    for (const overlay of Object.keys(OVERLAYS)) {
      const problems = validateOverlay(overlay);
      failed ||= problems.length > 0;
      console.log(
        problems.length === 0
          ? `${overlay}: ok`
          : `${overlay}: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`,
      );
    }
    if (failed) process.exitCode = 1;
  });

program.parseAsync().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});
