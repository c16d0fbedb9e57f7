import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';

const FIXTURES = path.join(__dirname, 'fixtures');

/** A child Node process running a fixture through tsx, with its JSON log lines parsed as they come. */
function startFixture(fixture: string, env: Record<string, string> = {}) {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(FIXTURES, fixture)],
    { env: { ...process.env, LOG_LEVEL: 'info', LOG_PRETTY: '', ...env }, stdio: 'pipe' },
  );
  const lines: Record<string, unknown>[] = [];
  let stdout = '';
  let stderr = '';
  const waiters: {
    predicate: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const parts = stdout.split('\n');
    stdout = parts.pop() ?? '';
    for (const part of parts) {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(part) as Record<string, unknown>;
      } catch {
        line = { raw: part };
      }
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.predicate(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  // Generous: starting node with tsx takes seconds on a loaded machine; this only stops a hang.
  const waitForLog = (msg: string, timeoutMs = 60_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const found = lines.find((l) => l['msg'] === msg);
      if (found) return resolve(found);
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no "${msg}" log within ${timeoutMs} ms; stdout so far: ${JSON.stringify(lines)} stderr: ${stderr}`,
            ),
          ),
        timeoutMs,
      );
      waiters.push({
        predicate: (l) => l['msg'] === msg,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  return {
    child,
    lines,
    exited,
    waitForLog,
    rawStdout: () => lines.map((l) => l['raw']).filter(Boolean),
  };
}

describe('signal-driven graceful shutdown (child process)', () => {
  jest.setTimeout(120_000);
  const children: ChildProcessWithoutNullStreams[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it('on SIGTERM finishes the in-flight request, runs the hooks in reverse order and exits 0', async () => {
    const f = startFixture('slow-server.ts', { SLOW_MS: '300' });
    children.push(f.child);
    const { url } = (await f.waitForLog('slow-server listening')) as { url: string };
    const slow = fetch(`${url}/slow`).then(async (r) => ({
      status: r.status,
      body: await r.json(),
    }));
    await f.waitForLog('slow request started');
    f.child.kill('SIGTERM');
    await f.waitForLog('shutdown: started');
    // The listener is closed while the slow request is still running.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    expect(await slow).toEqual({ status: 200, body: { done: true } });
    expect(await f.exited).toEqual({ code: 0, signal: null });
    const ran = f.lines.filter((l) => l['msg'] === 'hook ran').map((l) => l['ran']);
    expect(ran).toEqual(['second-registered', 'first-registered']);
    const steps = f.lines.map((l) => l['msg']);
    const order = [
      'signal received: shutting down gracefully',
      'shutdown: started',
      'shutdown: waiting for in-flight requests',
      'shutdown: HTTP servers closed',
      'shutdown: complete',
    ].map((m) => steps.indexOf(m));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(f.lines.find((l) => l['msg'] === 'shutdown: complete')).toMatchObject({ clean: true });
  });

  it('exits 1 once a hook times out, after running the remaining hooks', async () => {
    const f = startFixture('slow-server.ts', { HANG_HOOK: '1', HOOK_TIMEOUT_MS: '300' });
    children.push(f.child);
    await f.waitForLog('slow-server listening');
    f.child.kill('SIGTERM');
    expect(await f.exited).toEqual({ code: 1, signal: null });
    expect(f.lines.find((l) => l['msg'] === 'shutdown: hook failed')).toMatchObject({
      hook: 'hangs',
      err: 'shutdown hook "hangs" timed out after 300 ms',
    });
    expect(f.lines.filter((l) => l['msg'] === 'hook ran')).toHaveLength(2);
  });

  it('a second signal during shutdown forces exit 1 at once', async () => {
    const f = startFixture('slow-server.ts', { HANG_HOOK: '1', HOOK_TIMEOUT_MS: '60000' });
    children.push(f.child);
    await f.waitForLog('slow-server listening');
    f.child.kill('SIGTERM');
    await f.waitForLog('shutdown: HTTP servers closed');
    f.child.kill('SIGINT');
    expect(await f.exited).toEqual({ code: 1, signal: null });
    expect(f.lines.map((l) => l['msg'])).toContain('second signal during shutdown: forcing exit 1');
    expect(f.lines.map((l) => l['msg'])).not.toContain('shutdown: complete');
  });

  it('prints human-readable lines with LOG_PRETTY=1 and JSON otherwise', async () => {
    const pretty = startFixture('log-once.ts', { LOG_PRETTY: '1' });
    const json = startFixture('log-once.ts');
    children.push(pretty.child, json.child);
    expect((await pretty.exited).code).toBe(0);
    expect((await json.exited).code).toBe(0);
    const prettyText = pretty.rawStdout().join('\n');
    expect(prettyText).toContain('hello from the fixture');
    expect(prettyText).toMatch(/INFO/);
    expect(json.lines).toEqual([
      expect.objectContaining({
        service: 'fixture',
        level: 'info',
        answer: 42,
        msg: 'hello from the fixture',
      }),
    ]);
  });
});
