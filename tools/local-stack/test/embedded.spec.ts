import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ROOT, StackProcess } from './support/stack-process';

/**
 * `npm start` with nothing configured: the embedded in-process bus and SQLite. Every service
 * shares the one broker of the process, so a workflow only completes if the launcher really
 * runs them all in one process.
 */
describe('local stack on embedded defaults', () => {
  let stack: StackProcess;
  let dataDir: string;
  let orchestrator: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'local-stack-embedded-'));
    const env: Record<string, string> = { DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
    for (const name of [
      'ORCHESTRATOR_PORT',
      'CLASSIFIER_PORT',
      'CLASSIFIER_WORKER_PORT',
      'CHECKERS_PORT',
      'SVC_PROXY_PORT',
      'DEV_IDP_PORT',
    ])
      env[name] = String(await freePort());
    if (process.env['MODEL_DIR']) env['MODEL_DIR'] = process.env['MODEL_DIR'];
    // The parent's broker and database settings must not leak into "nothing configured".
    stack = new StackProcess({ ...env, AMQP_URL: '', DATABASE_URL: '', DATABASE_SCHEMA: '' });
    const banner = await stack.waitFor(
      /Conveyor local stack is running \(embedded in-process bus, SQLite under (\S+)\)/,
      180_000,
    );
    expect(banner[1]).toBe(dataDir);
    orchestrator = `http://127.0.0.1:${env['ORCHESTRATOR_PORT']}`;
  });

  afterAll(async () => {
    if (stack?.child.exitCode === null)
      await stack.signal('SIGKILL', 10_000).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('completes the document-processing workflow on the in-process bus, stored in SQLite', async () => {
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

  it('stops cleanly on SIGTERM and exits 0', async () => {
    const code = await stack.signal('SIGTERM', 60_000);
    expect({ code, tail: stack.output.slice(-300) }).toEqual({
      code: 0,
      tail: expect.stringContaining('local stack stopped cleanly'),
    });
  });

  it('a Ctrl-C during start-up stops the stack cleanly once it is up, instead of killing it half-way', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-stack-early-'));
    try {
      const env: Record<string, string> = {
        DATA_DIR: dir,
        LOG_LEVEL: 'warn',
        AMQP_URL: '',
        DATABASE_URL: '',
        DATABASE_SCHEMA: '',
      };
      for (const name of [
        'ORCHESTRATOR_PORT',
        'CLASSIFIER_PORT',
        'CLASSIFIER_WORKER_PORT',
        'CHECKERS_PORT',
        'SVC_PROXY_PORT',
        'DEV_IDP_PORT',
      ])
        env[name] = String(await freePort());
      const early = new StackProcess(env);
      await early.waitFor(/starting the Conveyor local stack/, 60_000);
      const code = await early.signal('SIGINT', 180_000);
      expect(code).toBe(0);
      const output = early.output;
      // The signal arrived before the stack was up, and the shutdown still ran to the end.
      expect(output.indexOf('SIGINT: stopping every service')).toBeGreaterThan(-1);
      expect(output.indexOf('SIGINT: stopping every service')).toBeLessThan(
        output.indexOf('Conveyor local stack is running'),
      );
      expect(output).toContain('local stack stopped cleanly');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
