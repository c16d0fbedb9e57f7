import { readFileSync } from 'node:fs';
import path from 'node:path';
import { APPS } from '../src/build';
import { WORKSPACE_ROOT } from '../src/manifests';

// Static half of "images start with their defaults" (issue 16), for every runnable stage
// including the GPU one, which cannot be built here; `run-images` starts the CPU images for real.
const stagesOf = (app: string) =>
  readFileSync(path.join(WORKSPACE_ROOT, 'apps', app, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split(/^(?=FROM )/m)
    .slice(1);
const runnable = (stages: string[]) =>
  stages.filter((s, i) => i === stages.length - 1 || /^CMD /m.test(s));

describe.each(APPS)('apps/%s/Dockerfile runnable stages', (app) => {
  it('default DATA_DIR to a directory owned by the app user, declared as a volume', () => {
    const stages = runnable(stagesOf(app));
    expect(stages.length).toBeGreaterThan(0);
    for (const stage of stages) {
      expect(stage).toMatch(/^ENV .*\bDATA_DIR=\/var\/lib\/conveyor\b/m);
      expect(stage).toMatch(
        /^COPY --from=build --chown=1000:1000 \/var\/lib\/conveyor \/var\/lib\/conveyor$/m,
      );
      expect(stage).toMatch(/^VOLUME \/var\/lib\/conveyor$/m);
      expect(stage).toMatch(/^USER 1000:1000$/m);
    }
    expect(stagesOf(app).find((s) => / AS build$/m.test(s.split('\n')[0] ?? ''))).toMatch(
      /^RUN mkdir -p \/var\/lib\/conveyor$/m,
    );
  });
});

it('the orchestrator image carries the workflows its WORKFLOWS_DIR default names', () => {
  const config = readFileSync(path.join(WORKSPACE_ROOT, 'apps/orchestrator/src/config.ts'), 'utf8');
  const dir = /WORKFLOWS_DIR: z\.string\(\)\.min\(1\)\.default\('([^']+)'\)/.exec(config)?.[1];
  expect(dir).toBeDefined();
  const runtime = stagesOf('orchestrator').at(-1);
  expect(runtime).toContain(`COPY ${dir} ${dir}\n`);
  expect(runtime).toMatch(/^WORKDIR \/app$/m);
});
