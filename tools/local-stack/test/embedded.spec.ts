import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  childPids,
  freePort,
  isAlive,
  portClosed,
  ROOT,
  StackProcess,
  waitUntil,
} from './support/stack-process';

const PORT_VARIABLES = [
  'ORCHESTRATOR_PORT',
  'CLASSIFIER_PORT',
  'CLASSIFIER_WORKER_PORT',
  'CHECKERS_PORT',
  'SVC_PROXY_PORT',
  'DEV_IDP_PORT',
] as const;

async function stackEnv(dataDir: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    // The parent's broker and database settings must not leak into "nothing configured".
    AMQP_URL: '',
    DATABASE_URL: '',
    DATABASE_SCHEMA: '',
  };
  // Free when chosen, not reserved: see local-stack.spec.ts for why the stack cannot take 0.
  for (const name of PORT_VARIABLES) env[name] = String(await freePort());
  if (process.env['MODEL_DIR']) env['MODEL_DIR'] = process.env['MODEL_DIR'];
  return env;
}

/** When each checkers bundle was last built (its metafile is written last). */
function bundleStamps(dataDir: string): string {
  const dir = join(dataDir, 'checkers', 'bundles');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.meta.json'))
    .sort()
    .map((f) => `${f}@${statSync(join(dir, f)).mtimeMs}`)
    .join(',');
}

const BANNER = /Conveyor local stack is running \(embedded in-process bus, SQLite under (\S+)\)/;

/** `npm start`'s launcher (npm's only child) once it runs. */
function launcherOf(npm: StackProcess): number {
  const [launcher] = childPids(npm.child.pid ?? 0);
  if (launcher === undefined) throw new Error('npm start has no child process');
  return launcher;
}

/**
 * Signals `npm start` alone, as an IDE, a supervisor or `kill PID` does (not the whole process
 * group, as a terminal's Ctrl-C does), and checks that the whole stack stops: the launcher
 * exits after a clean shutdown and no service port is left open.
 */
async function signalNpmAlone(
  npm: StackProcess,
  env: Record<string, string>,
  signal: NodeJS.Signals,
): Promise<void> {
  const launcher = launcherOf(npm);
  npm.child.kill(signal);
  await waitUntil('the launcher exits', () => !isAlive(launcher), 120_000).catch((error) => {
    process.kill(launcher, 'SIGKILL');
    throw new Error(`${(error as Error).message}\n${npm.output.slice(-3000)}`);
  });
  expect(npm.output).toContain('local stack stopped cleanly');
  for (const name of PORT_VARIABLES)
    expect({ name, closed: await portClosed(Number(env[name])) }).toEqual({ name, closed: true });
}

/**
 * `npm start` with nothing configured: the embedded bus and SQLite. Each service runs in its own
 * worker thread and they share the launcher's embedded broker, so a workflow completes only if
 * messages really cross the threads.
 */
describe('local stack on embedded defaults', () => {
  let stack: StackProcess;
  let env: Record<string, string>;
  let dataDir: string;
  let orchestrator: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'local-stack-embedded-'));
    env = await stackEnv(dataDir);
    stack = new StackProcess(env, { via: 'npm' });
    const banner = await stack.waitFor(BANNER, 180_000);
    expect(banner[1]).toBe(dataDir);
    orchestrator = `http://127.0.0.1:${env['ORCHESTRATOR_PORT']}`;
  });

  afterAll(async () => {
    if (stack?.child.exitCode === null) {
      for (const pid of childPids(stack.child.pid ?? 0)) process.kill(pid, 'SIGKILL');
      await stack.signal('SIGKILL', 10_000).catch(() => undefined);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints no service log lines before the banner at the default level, and says when it builds the checkers bundles', () => {
    const beforeBanner = stack.output.slice(0, stack.output.search(BANNER));
    // A fresh DATA_DIR: the bundles are built, and the user is told why start-up takes longer.
    expect(beforeBanner).toContain('building the checkers bundles');
    expect(beforeBanner).not.toMatch(/"level":"(info|debug)"/);
  });

  it('completes the document-processing workflow across the service threads, stored in SQLite', async () => {
    const bundle = JSON.parse(
      readFileSync(join(ROOT, 'examples/document-processing/sample/bundle.json'), 'utf8'),
    ) as { bundleId: string };
    // waitMs covers the model still loading: the classify step is retried until it is there.
    const response = await fetch(`${orchestrator}/api/workflows/document-processing/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: bundle, waitMs: 150_000 }),
    });
    const { run } = (await response.json()) as {
      run: { status: string; error: unknown; output: { documents: { id: string }[] } };
    };
    expect({ status: run.status, error: run.error }).toEqual({ status: 'succeeded', error: null });
    expect(run.output.documents.map((d) => d.id)).toEqual(['doc-1', 'doc-2', 'doc-3']);
    expect(existsSync(join(dataDir, 'orchestrator', 'orchestrator.sqlite'))).toBe(true);
    expect(existsSync(join(dataDir, 'checkers', 'checkers.sqlite'))).toBe(true);
  });

  it('runs each service on its own thread, so heavy classify requests do not stall checkers', async () => {
    const services = {
      orchestrator: env['ORCHESTRATOR_PORT'],
      classifier: env['CLASSIFIER_PORT'],
      'classifier-worker': env['CLASSIFIER_WORKER_PORT'],
      checkers: env['CHECKERS_PORT'],
      // svc-proxy's own /debug/vars is behind its sign-in.
    };
    const threads = await Promise.all(
      Object.entries(services).map(async ([service, port]) => {
        const vars = (await (await fetch(`http://127.0.0.1:${port}/debug/vars`)).json()) as {
          localStack: { service: string; threadId: number };
        };
        expect(vars.localStack.service).toBe(service);
        return vars.localStack.threadId;
      }),
    );
    // Thread 0 is the launcher's main thread; every service has another, and its own.
    expect(threads).not.toContain(0);
    expect(new Set(threads).size).toBe(threads.length);

    // The issue's case: on one event loop, concurrent 100 KB classify requests stalled checkers'
    // /healthz for seconds. The bound is generous; the threads above are the structural proof.
    const body = JSON.stringify({ title: 'How do I sort a list?', body: 'x '.repeat(50_000) });
    const classify = Array.from({ length: 8 }, () =>
      fetch(`http://127.0.0.1:${services.classifier}/v1/classify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      }).then((r) => r.status),
    );
    let classified = false;
    void Promise.all(classify).then(() => (classified = true));
    const healthz: number[] = [];
    while (!classified && healthz.length < 50) {
      const started = Date.now();
      const res = await fetch(`http://127.0.0.1:${services.checkers}/healthz`);
      expect(res.status).toBe(200);
      healthz.push(Date.now() - started);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await Promise.all(classify)).toEqual(Array(8).fill(200));
    expect(Math.max(...healthz)).toBeLessThan(3000);
  });

  it('stops every service when SIGTERM is sent to the npm start process alone', async () => {
    await signalNpmAlone(stack, env, 'SIGTERM');
  });

  it('stops every service when SIGINT is sent to npm start alone during start-up, once the stack is up; says it builds the bundles only when it does', async () => {
    // The same DATA_DIR: its checkers bundles are up to date, unless someone edited their
    // sources meanwhile (a shared work tree): the message must appear exactly when they are built.
    const before = bundleStamps(dataDir);
    const early = new StackProcess(env, { via: 'npm' });
    try {
      await early.waitFor(/starting the Conveyor local stack/, 60_000);
      await signalNpmAlone(early, env, 'SIGINT');
      const output = early.output;
      expect(output).toContain('Conveyor local stack is running');
      const rebuilt = bundleStamps(dataDir) !== before;
      expect({ told: output.includes('building the checkers bundles'), rebuilt }).toEqual({
        told: rebuilt,
        rebuilt,
      });
    } finally {
      if (early.child.exitCode === null) {
        for (const pid of childPids(early.child.pid ?? 0)) process.kill(pid, 'SIGKILL');
        await early.signal('SIGKILL', 10_000).catch(() => undefined);
      }
    }
  });

  it('gives the fix for a port in use once, naming the launcher variable, and stops the rest', async () => {
    const busy = await stackEnv(dataDir);
    const blocker = createServer();
    blocker.listen(Number(busy['CHECKERS_PORT']), '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const failing = new StackProcess(busy);
      expect(await failing.exited(180_000)).toBe(1);
      const output = failing.output;
      expect(output).toContain('checkers failed to start');
      expect(output).toContain('set CHECKERS_PORT to a free port');
      expect(output).not.toContain('set PORT');
      expect(output.match(/CHECKERS_PORT/g)).toHaveLength(1);
      for (const name of PORT_VARIABLES.filter((n) => n !== 'CHECKERS_PORT'))
        expect({ name, closed: await portClosed(Number(busy[name])) }).toEqual({
          name,
          closed: true,
        });
    } finally {
      blocker.close();
    }
  });
});
