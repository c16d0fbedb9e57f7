import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readCounter } from '../src';

describe('readCounter', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((_req, res) =>
      res.end(
        [
          '# HELP jobs_total Jobs',
          '# TYPE jobs_total counter',
          'jobs_total{queue="a",service="s"} 3',
          'jobs_total{queue="b",service="s"} 7',
        ].join('\n'),
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads the series whose labels match, the first with empty labels, 0 for none', async () => {
    expect(await readCounter(base, 'jobs_total', 'queue="b"')).toBe(7);
    expect(await readCounter(base, 'jobs_total', '')).toBe(3);
    expect(await readCounter(base, 'jobs_total', 'queue="c"')).toBe(0);
    expect(await readCounter(base, 'other_total', '')).toBe(0);
  });
});
