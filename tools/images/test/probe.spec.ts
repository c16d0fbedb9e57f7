import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpProbe } from '../src/manifests';
import { probeOnce } from '../src/pods';

// The kubelet's HTTP probe verdict: 200–399 within timeoutSeconds succeeds, anything else fails.
describe('probeOnce', () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/ok') res.end('ok');
      else if (req.url === '/redirect') res.writeHead(302, { location: '/elsewhere' }).end();
      else if (req.url === '/slow') setTimeout(() => res.end('late'), 3_000);
      else res.writeHead(503).end('not ready');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  const probe = (path: string, p = port): HttpProbe => ({
    path,
    port: p,
    initialDelaySeconds: 0,
    periodSeconds: 1,
    timeoutSeconds: 1,
    failureThreshold: 1,
    successThreshold: 1,
  });

  it('passes on 2xx and 3xx (redirects are not followed)', async () => {
    expect(await probeOnce('127.0.0.1', probe('/ok'))).toEqual({ ok: true, detail: 'HTTP 200' });
    expect(await probeOnce('127.0.0.1', probe('/redirect'))).toEqual({
      ok: true,
      detail: 'HTTP 302',
    });
  });

  it('fails on 5xx, on a timeout and on a closed port', async () => {
    expect(await probeOnce('127.0.0.1', probe('/readyz'))).toEqual({
      ok: false,
      detail: 'HTTP 503',
    });
    expect((await probeOnce('127.0.0.1', probe('/slow'))).ok).toBe(false);
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await probeOnce('127.0.0.1', probe('/ok', closedPort))).toEqual({
      ok: false,
      detail: 'ECONNREFUSED',
    });
  });
});
