import { createServer } from 'node:net';
import { freePort, listeningBase, spawnLogged } from '../src';

const node = (script: string) =>
  spawnLogged(process.execPath, ['-e', script], { cwd: __dirname, env: { GREETING: 'hello' } });

describe('spawnLogged', () => {
  it('resolves with the first matching line, from stdout or stderr, env passed through', async () => {
    const child = node(
      "console.error('starting'); setTimeout(() => console.log(process.env.GREETING + ' on 4711'), 50); setInterval(() => {}, 1000);",
    );
    try {
      await expect(child.waitForLine(/^starting$/)).resolves.toBe('starting');
      await expect(child.waitForLine(/on \d+/)).resolves.toBe('hello on 4711');
      expect(child.output()).toContain('starting');
    } finally {
      await child.kill();
    }
    expect(child.process.signalCode).toBe('SIGKILL');
  });

  it('fails at once, with the output, when the process exits without the line', async () => {
    const child = node("console.log('config error: PORT is not a number'); process.exit(3);");
    const started = Date.now();
    // "At once": long before the 120 s wait would end, with room for a slow start of node.
    await expect(child.waitForLine(/listening/, 120_000)).rejects.toThrow(
      /exited \(3\) before printing \/listening\/; output:\nconfig error: PORT is not a number/,
    );
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 150_000);

  it('fails after the timeout with the output so far', async () => {
    const child = node("console.log('still loading'); setInterval(() => {}, 1000);");
    try {
      // The output must be there before the short wait starts: a loaded machine can take longer
      // than 300 ms just to start node.
      await child.waitForLine(/still loading/, 30_000);
      await expect(child.waitForLine(/ready/, 300)).rejects.toThrow(
        /no line matching \/ready\/ within 300 ms; output:\nstill loading/,
      );
    } finally {
      await child.kill('SIGTERM');
    }
  });
});

describe('freePort', () => {
  it('returns a port that can be listened on', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise((r) => server.close(r));
  });
});

describe('listeningBase', () => {
  it("reads the port from a service's JSON listening line", () => {
    const line = JSON.stringify({
      level: 'info',
      url: 'http://127.0.0.1:40123',
      msg: 'orchestrator listening',
    });
    expect(listeningBase(line)).toBe('http://127.0.0.1:40123');
    expect(() => listeningBase('{"msg":"orchestrator listening"}')).toThrow(/no url with a port/);
  });
});
