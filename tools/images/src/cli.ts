import { Command } from 'commander';
import { APPS, buildAppImage, buildBaseImages, formatBuildReport, type BuiltImage } from './build';
import { checkDefaults, type DefaultExpectation } from './defaults';
import { appImages, renderOverlay, WORKSPACE_ROOT } from './manifests';
import { removeLabelledContainers } from './podman';
import { runManifests } from './run-manifests';
import path from 'node:path';

const log = (line: string) => console.log(line);

/** The image of each app, as the overlay deploys it (so the run finds what the build tagged). */
function imagesOf(overlay: string): Map<string, string> {
  const images = appImages(renderOverlay(overlay));
  for (const app of APPS)
    if (!images.has(app)) throw new Error(`deploy/overlays/${overlay} deploys no image for ${app}`);
  return images;
}

async function build(overlay: string): Promise<void> {
  const images = imagesOf(overlay);
  log('==> stand-in base images');
  const base = await buildBaseImages(log);
  const built: BuiltImage[] = [];
  for (const app of APPS) {
    log(`==> building ${images.get(app)}`);
    built.push(
      await buildAppImage(
        app,
        images.get(app) as string,
        path.join(WORKSPACE_ROOT, 'var/images'),
        log,
      ),
    );
  }
  log('\nimages built (size, build time):');
  log(formatBuildReport(base, built));
}

/** Every image with no settings at all (issue 16): services serve, svc-proxy refuses clearly. */
async function defaults(overlay: string): Promise<void> {
  const images = imagesOf(overlay);
  const expectations: Record<(typeof APPS)[number], DefaultExpectation> = {
    orchestrator: { kind: 'serves', port: 8080, path: '/readyz' },
    classifier: { kind: 'serves', port: 8080, path: '/readyz' },
    checkers: { kind: 'serves', port: 8080, path: '/readyz' },
    'svc-proxy': {
      kind: 'refuses',
      exitCode: 2,
      mentions: ['GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET', 'COOKIE_SECRET', 'PUBLIC_URL'],
    },
  };
  log('==> each image with no settings at all');
  for (const app of APPS)
    log(`  ok      ${await checkDefaults(images.get(app) as string, expectations[app], 120_000)}`);
}

interface RunFlags {
  overlay: string;
  podSubnet: string;
  keep?: boolean;
  skipDefaults?: boolean;
}

async function run(o: RunFlags): Promise<void> {
  if (!o.skipDefaults) await defaults(o.overlay);
  log(`==> deploy/overlays/${o.overlay} run from the images, kubelet-style`);
  await runManifests({
    overlay: o.overlay,
    podSubnet: Number(o.podSubnet),
    readyDeadlineMs: 240_000,
    keepOnFailure: o.keep ?? false,
    log,
  });
}

const program = new Command('images').description(
  'Build the app images offline with podman and run them as the rendered manifests say',
);
program.option('--overlay <name>', 'overlay whose Deployments are run', 'dev');
program.option('--pod-subnet <n>', 'pods get 127.0.<n>.1, .2, …', '77');
program.option('--keep', 'leave the containers of a failed run for inspection');
program.option('--skip-defaults', 'run only the manifests, not each image with no settings');

program
  .command('build')
  .description('stand-in base images, then every app image')
  .action(async () => {
    await build(program.opts<{ overlay: string }>().overlay);
  });
program
  .command('run')
  .description('images with no settings, then the overlay from the images with end-to-end checks')
  .action(async () => {
    await run(program.opts<RunFlags>());
  });
program
  .command('check')
  .description('build, then run (what CI does)')
  .action(async () => {
    const o = program.opts<RunFlags>();
    await build(o.overlay);
    await run(o);
  });
program
  .command('clean')
  .description('remove every container a check left behind (by label)')
  .action(async () => {
    const removed = await removeLabelledContainers();
    log(`removed ${removed.length} containers${removed.length ? `: ${removed.join(', ')}` : ''}`);
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`\nimages check FAILED: ${(error as Error).message}`);
  process.exit(1);
});
